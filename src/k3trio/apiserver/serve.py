"""HTTPS serving on Trio: our own accept loop, a lean HTTP/1.1 path and hypercorn for HTTP/2.

Client-certificate authentication needs the verified TLS client certificate, which general
servers do not hand to the app. So this module accepts TLS connections itself, completes the
handshake, reads the peer identity (CN = user, O = groups) once per connection and puts it
into every request's ASGI scope under ``"k3trio.peer"`` (:data:`PEER_KEY`).

TLS runs on the socket through :mod:`.tlsstream` (one OpenSSL call per read or write). The
protocol is chosen by ALPN: ``h2`` goes to hypercorn's HTTP/2 protocol (:mod:`.http2`),
anything else (``http/1.1`` or no ALPN) to :mod:`.http11`, written for the API server's hot
path; an ``Upgrade`` request (exec, attach, port-forward) can take the raw connection over
through the ``k3trio.takeover`` scope extension. Each connection runs in its own task; a
failing connection is logged and closed and never takes the listener down.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.worker_context import WorkerContext

from ..pki import peer_identity
from .http2 import h2_config, serve_h2
from .http11 import HTTP11Limits, serve_http11
from .tlsstream import wrap_server_socket

__all__ = ["PEER_KEY", "serve_https", "hypercorn_config", "HTTP11Limits"]

log = logging.getLogger("k3trio.apiserver")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

#: The scope key that carries the connection's verified client-certificate identity.
PEER_KEY = "k3trio.peer"

#: Seconds a client has to complete the TLS handshake.
HANDSHAKE_TIMEOUT = 10.0


def hypercorn_config() -> Config:
    """Hypercorn settings for the API server's HTTP/2 connections (see :func:`.http2.h2_config`)."""
    return h2_config()


def tune_ssl_context(ctx: ssl.SSLContext) -> None:
    """Server-side TLS settings that cost nothing in security and save CPU per connection."""
    ctx.options |= ssl.OP_NO_RENEGOTIATION


async def serve_https(
    app: ASGIApp,
    ssl_context: ssl.SSLContext,
    *,
    host: str,
    port: int,
    http11_limits: HTTP11Limits | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` over TLS on ``host:port`` until cancelled.

    Reports the bound port through ``task_status`` (useful with ``port=0``).
    """
    tune_ssl_context(ssl_context)
    config = h2_config()
    context = WorkerContext(None)
    listeners = await trio.open_tcp_listeners(port, host=host, backlog=1024)
    bound = listeners[0].socket.getsockname()[1]
    log.info("API server listening on https://%s:%d", host, bound)
    handler = partial(_serve_connection, app, ssl_context, config, context, http11_limits or HTTP11Limits())
    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, handler, listeners)
        task_status.started(bound)


async def _serve_connection(
    app: ASGIApp,
    ssl_context: ssl.SSLContext,
    config: Config,
    context: WorkerContext,
    limits: HTTP11Limits,
    tcp: trio.SocketStream,
) -> None:
    try:
        client = _addr(tcp.socket.getpeername())
        server = _addr(tcp.socket.getsockname())
        stream = wrap_server_socket(tcp, ssl_context)
    except OSError:
        await trio.aclose_forcefully(tcp)
        return
    try:
        with trio.fail_after(HANDSHAKE_TIMEOUT):
            await stream.do_handshake()
    except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError):
        stream.abort()
        return
    scope = {"client": client, "server": server, PEER_KEY: peer_identity(stream)}
    try:
        if stream.selected_alpn_protocol() == "h2":
            await serve_h2(stream, app, scope, config, context)
        else:
            await serve_http11(stream, app, scope, limits)
    except Exception:
        # One broken connection must never take the listener and every other connection
        # down with it.
        log.debug("connection from %s ended with an error", client, exc_info=True)
    finally:
        stream.abort()


def _addr(sockaddr: Any) -> tuple[str, int] | None:
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        return (str(sockaddr[0]), int(sockaddr[1]))
    return None
