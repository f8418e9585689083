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

The driver (:func:`serve_h2`) reads from the TLS stream into the protocol, gathers what the
protocol sends into as few writes as possible (see :class:`_Driver`), and closes the
connection after ``keep_alive_timeout`` without open streams.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import h2.events
from priority.priority import MissingStreamError
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
#: Bytes of outgoing frames queued before producers wait for the writer.
WRITE_BUFFER = 256 * 1024
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
    # kube-apiserver sends no Server header; Date stays (Go sends it).
    config.include_server_header = False
    config.errorlog = logging.getLogger("k3trio.apiserver.http")
    return config


class _H2Protocol(H2Protocol):
    """hypercorn's HTTP/2 protocol, tolerant of frames for streams it has already forgotten.

    Outbound header validation and normalisation are off: the headers come from our app
    through hypercorn, which already lower-cases and strips them, and checking them again
    costs a third of the h2 library's time per response. Inbound headers are still checked.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection.config.validate_outbound_headers = False
        self.connection.config.normalize_outbound_headers = False

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        # One event at a time: a HEADERS frame earlier in the same batch creates the stream
        # that the DATA frames after it belong to, so "unknown stream" can only be decided
        # once the events before it have been handled.
        for event in events:
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                # Reset or finished stream: give the window back so the connection keeps flowing.
                if event.flow_controlled_length:
                    self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                continue
            await super()._handle_events([event])

    async def _send_data(self, stream_id: int) -> None:
        if stream_id not in self.stream_buffers:
            try:
                self.priority.remove_stream(stream_id)
            except MissingStreamError:
                pass
            return
        try:
            await super()._send_data(stream_id)
        except KeyError:
            # The stream went away while its data was being written.
            self.stream_buffers.pop(stream_id, None)
            try:
                self.priority.remove_stream(stream_id)
            except MissingStreamError:
                pass


class _Driver:
    """Moves bytes between the TLS stream and the protocol.

    Outgoing frames are queued and written by one writer task, which yields once before each
    write so that frames produced in the same scheduler round (a response's HEADERS, DATA and
    END_STREAM, and other streams' responses) leave in one TLS write. Producers wait only
    when more than ``WRITE_BUFFER`` bytes are queued.
    """

    def __init__(self, stream: trio.abc.Stream, config: Config) -> None:
        self.stream = stream
        self.config = config
        self.idle_scope = trio.CancelScope()
        self.protocol: _H2Protocol
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.wakeup = trio.Event()
        self.drained = trio.Event()
        self.written = trio.Event()
        self.writing = False
        self.closed = False

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, RawData):
            if self.closed:
                return
            self.pending.append(event.data)
            self.pending_size += len(event.data)
            self.wakeup.set()
            while self.pending_size > WRITE_BUFFER and not self.closed:
                await self.drained.wait()
        elif isinstance(event, Closed):
            self.idle_scope.cancel()
        elif isinstance(event, Updated):
            if event.idle:
                self.idle_scope.deadline = trio.current_time() + self.config.keep_alive_timeout
            else:
                self.idle_scope.deadline = math.inf

    async def write_loop(self) -> None:
        while True:
            await self.wakeup.wait()
            await trio.sleep(0)
            self.wakeup = trio.Event()
            data = b"".join(self.pending)
            self.pending.clear()
            self.pending_size = 0
            self.drained.set()
            self.drained = trio.Event()
            self.writing = True
            try:
                with trio.CancelScope(shield=True):
                    await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError):
                self.closed = True
                self.drained.set()
                await self.protocol.handle(Closed())
                return
            finally:
                self.writing = False
                self.written.set()
                self.written = trio.Event()

    async def flush(self, timeout: float) -> None:
        """Wait (up to ``timeout``) until queued frames, such as a final GOAWAY, are written."""
        with trio.move_on_after(timeout):
            while (self.pending or self.writing) and not self.closed:
                await self.written.wait()

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
                ASGIWrapper(with_extra),  # type: ignore[arg-type]
                config, context, task_group, ConnectionState({}), True,
                client, server, driver.protocol_send,
            )
            task_group._nursery.start_soon(driver.write_loop)  # type: ignore[union-attr]
            await driver.protocol.initiate()
            await driver.read_loop()
            await driver.flush(1.0)
            task_group._nursery.cancel_scope.cancel()  # type: ignore[union-attr]
    finally:
        with trio.move_on_after(1) as cleanup:
            cleanup.shield = True
            try:
                await stream.aclose()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
