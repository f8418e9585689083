"""The API server's ASGI application: request in, response out.

This module only routes. Meaning lives in ``k3trio.api`` and state in the store. Every
failure is an ``APIError`` turned into a ``Status`` response in exactly one place
(``_send_error``).
"""

from __future__ import annotations

import json
import logging
import platform
import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs

from .. import version
from ..api.errors import APIError, InternalError, Unauthorized
from .health import Check, render_health
from .serve import PEER_KEY

log = logging.getLogger("k3trio.apiserver")

#: Paths anyone may read without credentials.
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")

HealthSource = Callable[[str], Sequence[Check]]


def version_info() -> dict[str, str]:
    """The ``version.Info`` object served on ``/version``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
    return {
        "major": version.KUBERNETES_MAJOR,
        "minor": version.KUBERNETES_MINOR,
        "emulationMajor": version.KUBERNETES_MAJOR,
        "emulationMinor": version.KUBERNETES_MINOR,
        "minCompatibilityMajor": version.KUBERNETES_MAJOR,
        "minCompatibilityMinor": str(int(version.KUBERNETES_MINOR) - 1),
        "gitVersion": version.GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}"
        f".{sys.version_info.micro}",
        "compiler": sys.implementation.name,
        "platform": f"linux/{arch}",
    }


class APIServerApp:
    """The ASGI app. ``health`` returns the checks for ``healthz``/``livez``/``readyz``."""

    def __init__(self, health: HealthSource) -> None:
        self.health = health
        self._version_body = json.dumps(version_info(), indent=2).encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            await self._dispatch(scope, receive, send)
        except APIError as exc:
            await _send_error(send, exc)
        except Exception as exc:
            log.exception("internal error serving %s %s", scope.get("method"), scope.get("path"))
            await _send_error(send, InternalError(exc))

    async def _dispatch(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True)
        head, _, rest = path.lstrip("/").partition("/")
        if head in ("healthz", "livez", "readyz"):
            checks = self.health(head)
            status, body = render_health(
                head,
                checks,
                verbose="verbose" in query,
                exclude=query.get("exclude", ()),
                only=rest or None,
            )
            await _send(send, status, body.encode(), b"text/plain; charset=utf-8")
            return
        if path == "/version":
            await _send(send, 200, self._version_body, b"application/json")
            return
        if scope.get(PEER_KEY) is None:
            raise Unauthorized()
        raise APIError(
            "the server could not find the requested resource", code=404, reason="NotFound"
        )


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _send(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"x-content-type-options", b"nosniff"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Any, exc: APIError) -> None:
    body = json.dumps(exc.to_status()).encode()
    await _send(send, exc.code, body, b"application/json")
