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

- HPACK Huffman decoding is pure Python in the hpack library and a long header value is
  decoded anew on every request: a bearer token (about 1 KiB, usually sent without indexing)
  costs more to decode than a small GET costs to serve. :func:`_decode_huffman_memo`
  remembers the decoding of recent long values (bounded), so a client's repeated token is
  decoded once per connection lifetime rather than once per request.

The driver (:func:`serve_h2`) reads from the TLS stream into the protocol, gathers what the
protocol sends into as few writes as possible (see :class:`_Driver`), and closes the
connection after ``keep_alive_timeout`` without open streams.
"""

from __future__ import annotations

import functools
import logging
import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import h2.errors
import h2.events
import hpack.hpack
from hpack.huffman_table import decode_huffman
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


#: Encoded header values at least this long have their Huffman decoding remembered.
HUFFMAN_MEMO_MIN = 32


@functools.lru_cache(maxsize=256)
def _decode_huffman_bytes(encoded: bytes) -> bytes:
    return decode_huffman(encoded)


def _decode_huffman_memo(encoded: bytes | bytearray | memoryview) -> bytes:
    """``hpack``'s Huffman decoder, remembering the result for long values (bounded LRU;
    invalid input raises as before and is not remembered)."""
    if len(encoded) < HUFFMAN_MEMO_MIN:
        return decode_huffman(encoded)
    return _decode_huffman_bytes(bytes(encoded))


hpack.hpack.decode_huffman = _decode_huffman_memo  # type: ignore[attr-defined,assignment]


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


#: Connection-specific fields, which HTTP/2 forbids (RFC 9113 section 8.2.2).
_CONNECTION_FIELDS = frozenset((b"connection", b"keep-alive", b"proxy-connection",
                                b"transfer-encoding", b"upgrade"))
_REQUEST_PSEUDO = frozenset((b":method", b":scheme", b":authority", b":path", b":protocol"))
_ILLEGAL_IN_VALUE = (b"\r", b"\n", b"\x00")


def malformed_request(headers: Any) -> str | None:
    """Why a request's header list is malformed (RFC 9113 section 8), or None if it is not.

    Pseudo-header fields first, each known and at most once; ``:method`` always, ``:scheme``
    and a non-empty ``:path`` unless CONNECT; field names lower-case and not empty; no
    connection-specific fields; ``te`` only ``trailers``; no CR, LF or NUL in values.
    """
    seen: dict[bytes, bytes] = {}
    regular = False
    for name, value in headers:
        if name[:1] == b":":
            if regular:
                return f"pseudo-header {name!r} after regular fields"
            if name not in _REQUEST_PSEUDO:
                return f"unknown pseudo-header {name!r}"
            if name in seen:
                return f"duplicate pseudo-header {name!r}"
            seen[name] = value
        else:
            regular = True
            if not name or name.lower() != name:
                return f"field name {name!r} is empty or not lower-case"
            if name in _CONNECTION_FIELDS:
                return f"connection-specific field {name!r}"
            if name == b"te" and value != b"trailers":
                return "te other than trailers"
        if any(c in value for c in _ILLEGAL_IN_VALUE):
            return f"illegal character in the value of {name!r}"
    method = seen.get(b":method")
    if not method:
        return "no :method"
    if method != b"CONNECT" or b":protocol" in seen:
        if not seen.get(b":path") or b":scheme" not in seen:
            return "no :scheme or :path"
    return None


class _H2Protocol(H2Protocol):
    """hypercorn's HTTP/2 protocol, tolerant of frames for streams it has already forgotten.

    Outbound header validation and normalisation are off: the headers come from our app
    through hypercorn, which already lower-cases and strips them, and checking them again
    costs a third of the h2 library's time per response. The h2 library's inbound checks,
    a chain of generators per header, are replaced by one pass of :func:`malformed_request`
    over each request's headers; a malformed request is a stream error (RST_STREAM
    PROTOCOL_ERROR, RFC 9113 section 8.1.1), never a connection failure.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection.config.validate_outbound_headers = False
        self.connection.config.normalize_outbound_headers = False
        self.connection.config.validate_inbound_headers = False

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
            if isinstance(event, h2.events.RequestReceived):
                problem = malformed_request(event.headers)
                if problem is not None:
                    log.debug("HTTP/2 stream %d reset: %s", event.stream_id, problem)
                    self.connection.reset_stream(event.stream_id, h2.errors.ErrorCodes.PROTOCOL_ERROR)
                    await self._flush()
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
