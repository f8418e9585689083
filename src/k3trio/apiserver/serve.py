"""HTTPS serving on Trio: hypercorn's protocol layer behind our own small accept loop.

Hypercorn's trio worker does not hand the verified TLS client certificate to the ASGI app,
and client-certificate authentication needs it. So this module accepts TLS connections itself,
completes the handshake, reads the peer identity (CN = user, O = groups) once per connection,
and runs hypercorn's ``TCPServer`` for the connection with an app wrapper that puts the
identity into the ASGI scope under ``"k3trio.peer"``. HTTP/1.1 and HTTP/2 are negotiated by
ALPN on the SSL context.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState

from ..pki import peer_identity

log = logging.getLogger("k3trio.apiserver")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

#: The scope key that carries the connection's verified client-certificate identity.
PEER_KEY = "k3trio.peer"


def hypercorn_config() -> Config:
    """Hypercorn settings for the API server: long-lived watches, many h2 streams."""
    config = Config()
    config.keep_alive_timeout = 90
    config.read_timeout = None
    config.h2_max_concurrent_streams = 250
    config.h11_max_incomplete_size = 64 * 1024
    config.ssl_handshake_timeout = 10
    config.accesslog = None
    config.errorlog = logging.getLogger("k3trio.apiserver.http")  # type: ignore[assignment]
    return config


async def serve_https(
    app: ASGIApp,
    ssl_context: ssl.SSLContext,
    *,
    host: str,
    port: int,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` over TLS on ``host:port`` until cancelled.

    Reports the bound port through ``task_status`` (useful with ``port=0``).
    """
    config = hypercorn_config()
    context = WorkerContext(None)
    listeners = await trio.open_ssl_over_tcp_listeners(
        port, ssl_context, host=host, https_compatible=True, backlog=1024
    )
    bound = listeners[0].transport_listener.socket.getsockname()[1]
    log.info("API server listening on https://%s:%d", host, bound)
    handler = partial(_serve_connection, app, config, context)
    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, handler, listeners)
        task_status.started(bound)


async def _serve_connection(
    app: ASGIApp,
    config: Config,
    context: WorkerContext,
    stream: trio.SSLStream[trio.SocketStream],
) -> None:
    try:
        with trio.fail_after(config.ssl_handshake_timeout):
            await stream.do_handshake()
    except (trio.BrokenResourceError, trio.TooSlowError, ssl.SSLError):
        await trio.aclose_forcefully(stream)
        return
    identity = peer_identity(stream)

    async def with_peer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope[PEER_KEY] = identity
        await app(scope, receive, send)

    server = TCPServer(ASGIWrapper(with_peer), config, context, ConnectionState({}), stream)
    try:
        await server.run()
    except Exception:
        # One broken connection (a protocol error, a reset HTTP/2 stream the protocol layer
        # trips over) must never take the listener and every other connection down with it.
        log.debug("connection from %s ended with an error", _peer_name(stream), exc_info=True)
        await trio.aclose_forcefully(stream)


def _peer_name(stream: trio.SSLStream[trio.SocketStream]) -> str:
    try:
        host, port = stream.transport_stream.socket.getpeername()[:2]
    except (OSError, AttributeError, ValueError):
        return "?"
    return f"{host}:{port}"
