"""HTTP/2 connections for the API server: hypercorn's h2 protocol behind a small Trio driver.

kubectl and client-go speak HTTP/2 (ALPN ``h2``) over connections that live for hours and
carry many thousands of streams. Two adjustments to hypercorn make that work:

- No request budget per connection: hypercorn's ``keep_alive_max_requests`` (GOAWAY after
  1,000 streams) is disabled in :func:`h2_config`; upstream kube-apiserver never ends a
  healthy connection for its age or request count.
- A stream the client reset (or one whose response is already complete) may still have DATA
  frames in flight. hypercorn looks such streams up by id and raises ``KeyError``, which
  would end the whole connection; :class:`_H2Protocol` returns the flow-control credit of
  those frames and drops them, so only that stream is affected.

The driver (:func:`serve_h2`) reads from the TLS stream into the protocol, writes what the
protocol sends under one lock, and closes the connection after ``keep_alive_timeout`` without
open streams.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import h2.events
import priority
import trio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from hypercorn.events import Closed, Event, RawData, Updated
from hypercorn.protocol.h2 import H2Protocol
from hypercorn.trio.task_group import TaskGroup
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState

__all__ = ["h2_config", "serve_h2"]

log = logging.getLogger("k3trio.apiserver.http")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

MAX_RECV = 2**16
#: Seconds one write may wait for a client that does not read.
WRITE_TIMEOUT = 60.0


def h2_config() -> Config:
    """Hypercorn settings for the API server's HTTP/2 connections."""
    config = Config()
    config.keep_alive_timeout = 90
    # Never send GOAWAY for the number of streams a connection has carried.
    config.keep_alive_max_requests = sys.maxsize
    config.read_timeout = None
    config.h2_max_concurrent_streams = 250
    config.ssl_handshake_timeout = 10
    config.accesslog = None
    config.errorlog = logging.getLogger("k3trio.apiserver.http")  # type: ignore[assignment]
    return config


class _H2Protocol(H2Protocol):
    """hypercorn's HTTP/2 protocol, tolerant of frames for streams it has already forgotten."""

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        kept: list[h2.events.Event] = []
        for event in events:
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                # Reset or finished stream: give the window back so the connection keeps flowing.
                if event.flow_controlled_length:
                    self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                continue
            kept.append(event)
        await super()._handle_events(kept)

    async def _send_data(self, stream_id: int) -> None:
        if stream_id not in self.stream_buffers:
            try:
                self.priority.remove_stream(stream_id)
            except priority.MissingStreamError:
                pass
            return
        try:
            await super()._send_data(stream_id)
        except KeyError:
            # The stream went away while its data was being written.
            self.stream_buffers.pop(stream_id, None)
            try:
                self.priority.remove_stream(stream_id)
            except priority.MissingStreamError:
                pass


class _Driver:
    def __init__(self, stream: trio.abc.Stream, config: Config) -> None:
        self.stream = stream
        self.config = config
        self.send_lock = trio.Lock()
        self.idle_scope = trio.CancelScope()
        self.protocol: _H2Protocol

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, RawData):
            async with self.send_lock:
                try:
                    with trio.CancelScope(shield=True):
                        await self.stream.send_all(event.data)
                except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError):
                    await self.protocol.handle(Closed())
        elif isinstance(event, Closed):
            self.idle_scope.cancel()
        elif isinstance(event, Updated):
            if event.idle:
                self.idle_scope.deadline = trio.current_time() + self.config.keep_alive_timeout
            else:
                self.idle_scope.deadline = math.inf

    async def read_loop(self) -> None:
        with self.idle_scope:
            self.idle_scope.deadline = trio.current_time() + self.config.keep_alive_timeout
            while True:
                try:
                    data = await self.stream.receive_some(MAX_RECV)
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    break
                await self.protocol.handle(RawData(bytes(data)))
                if not data:
                    break
        await self.protocol.handle(Closed())


async def serve_h2(
    stream: trio.abc.Stream,
    app: ASGIApp,
    scope: dict[str, Any],
    config: Config,
    context: WorkerContext,
) -> None:
    """Serve HTTP/2 on an established TLS ``stream`` until the client or the server ends it.

    ``scope`` keys (``client``, ``server``, the peer identity, ...) are added to every
    request's ASGI scope.
    """
    extra = dict(scope)
    client = scope.get("client")
    server = scope.get("server")

    async def with_extra(request_scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_scope.update(extra)
        await app(request_scope, receive, send)

    if hasattr(stream, "write_timeout"):
        # A client that stops reading is dropped instead of holding its streams forever.
        stream.write_timeout = WRITE_TIMEOUT
    driver = _Driver(stream, config)
    try:
        async with TaskGroup() as task_group:
            driver.protocol = _H2Protocol(
                ASGIWrapper(with_extra), config, context, task_group, ConnectionState({}), True,
                client, server, driver.protocol_send,
            )
            await driver.protocol.initiate()
            await driver.read_loop()
            task_group._nursery.cancel_scope.cancel()  # type: ignore[union-attr]
    finally:
        with trio.move_on_after(1) as cleanup:
            cleanup.shield = True
            try:
                await stream.aclose()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
