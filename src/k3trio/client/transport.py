"""The one HTTP connection pool of a client: an ``httpx.AsyncClient`` built from a config.

HTTP/2 is used when ``h2`` is importable (ALPN falls back to HTTP/1.1 otherwise), keep-alive
is on, every request has a timeout (watches override the read timeout), and the user agent
is ``k3trio/<version> (<component>)``. Bearer tokens are added per request so a rotating
``tokenFile`` is honoured without rebuilding the pool. Tests may pass any
``httpx.AsyncBaseTransport`` (e.g. ``httpx.MockTransport``) instead of the network.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Generator

import httpx

from .. import version
from .config import ClientConfig

__all__ = ["HTTP2_AVAILABLE", "build_http_client", "user_agent"]

HTTP2_AVAILABLE = importlib.util.find_spec("h2") is not None

#: How long a token read from ``tokenFile`` is reused before the file is read again.
TOKEN_REFRESH_SECONDS = 60.0


def user_agent(component: str) -> str:
    return f"k3trio/{version.__version__} ({component})"


class _BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer`` from the config, re-reading a token file each minute."""

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._token: str | None = None
        self._read_at = -float("inf")

    def _current(self) -> str | None:
        if self._config.token_file is None:
            return self._config.token
        now = time.monotonic()
        if now - self._read_at >= TOKEN_REFRESH_SECONDS:
            self._token = self._config.current_token()
            self._read_at = now
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current()
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self._config.token_file is not None:
            self._read_at = -float("inf")  # re-read the file before the next request


def build_http_client(
    config: ClientConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The pooled ``httpx.AsyncClient`` for ``config``.

    Raises:
        k3trio.pki.CertificateError: the TLS material cannot be loaded.
    """
    headers = {"User-Agent": user_agent(config.component), "Accept": "application/json"}
    auth = _BearerAuth(config) if (config.token or config.token_file) else None
    timeout = httpx.Timeout(config.timeout, connect=min(config.timeout, 10.0))
    # Idle connections are dropped before the server's 90 s keep-alive timeout would close
    # them under a request.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=60)
    if transport is not None:
        return httpx.AsyncClient(
            base_url=config.server, headers=headers, auth=auth, timeout=timeout,
            transport=transport,
        )
    verify = config.ssl_context() if config.server.startswith("https://") else False
    return httpx.AsyncClient(
        base_url=config.server,
        headers=headers,
        auth=auth,
        timeout=timeout,
        limits=limits,
        verify=verify,
        http2=HTTP2_AVAILABLE and config.http2,
        trust_env=False,
    )
