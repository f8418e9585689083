"""WebSocket upgrades on HTTP/1.1 connections, served by hypercorn's HTTP/1.1 protocol.

:mod:`.http11` serves plain HTTP/1.1 itself and hands a connection whose request asks for
``Upgrade: websocket`` (kubectl exec/attach/port-forward speak WebSocket over HTTP/1.1) to
:func:`serve_upgrade`, with every byte it has read so far. Hypercorn then reads that request
again from the start and runs the ASGI ``websocket`` scope; the peer identity and addresses
are added to the scope as for every other request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import LifespanState

__all__ = ["serve_upgrade"]

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class _Replay:
    """The connection as hypercorn sees it: ``received`` first, then the live stream.

    It has no ``do_handshake`` (TLS is already done), so hypercorn treats it as an
    established connection and takes addresses from ``socket``.
    """

    def __init__(self, stream: Any, received: bytes) -> None:
        self._stream = stream
        self._received = received
        self.socket = stream.sock

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._received:
            first, self._received = self._received, b""
            await trio.lowlevel.checkpoint()
            return first
        data: bytes = await self._stream.receive_some(max_bytes)
        return data

    async def send_all(self, data: bytes) -> None:
        await self._stream.send_all(data)

    async def aclose(self) -> None:
        await self._stream.aclose()


async def serve_upgrade(
    stream: trio.abc.Stream,
    received: bytes,
    app: ASGIApp,
    scope: dict[str, Any],
    config: Config,
    context: WorkerContext,
) -> None:
    """Serve the rest of an HTTP/1.1 connection (starting with ``received``) with hypercorn."""
    extra = dict(scope)

    async def with_extra(request_scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_scope.update(extra)
        if request_scope.get("type") == "websocket":
            # The connection is TLS even though hypercorn was handed a plain stream.
            request_scope["scheme"] = "wss"
        await app(request_scope, receive, send)

    state: LifespanState = {}
    server = TCPServer(
        ASGIWrapper(with_extra),  # type: ignore[arg-type]
        config, context, state, _Replay(stream, received),  # type: ignore[arg-type]
    )
    await server.run()
