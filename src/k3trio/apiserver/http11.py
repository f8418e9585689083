"""A lean HTTP/1.1 server connection running an ASGI app, for the API server's hot path.

Connections that negotiate ``http/1.1`` (or no ALPN) are served here instead of through a
general-purpose server: the request head is parsed by :mod:`.http11_wire`, the app runs in
the connection's own task (no task or queue per request), and a response whose body comes in
one message is written with one ``send_all`` (head and body together).

ASGI behaviour (the parts the API server relies on):
- ``receive()`` yields the request body (``http.request``, ``more_body``), reading it lazily;
  the first call sends ``100 Continue`` when the client asked for it. After the body it blocks
  until the client goes away or the response is complete, then yields ``http.disconnect``.
- A response with a single body message gets ``Content-Length``; a streamed one (a watch) is
  sent with chunked transfer coding, one chunk per message; HTTP/1.0 streams end at close.
- Once the client is gone, ``send()`` does nothing (as hypercorn does), so a streaming handler
  ends through its ``receive()`` watcher instead of failing mid-write.

Invariants:
- One request at a time; bytes after a request (pipelining) stay buffered, unread by the app,
  and are parsed after its response is complete. While an app streams, at most ``max_head``
  such bytes are buffered.
- A connection whose framing is in doubt (the app failed mid-response, a short body, unread
  request body larger than ``drain_limit``, a write cut off) is closed after the exchange.
- Every wait on the peer is bounded: ``keep_alive_timeout`` between requests,
  ``header_timeout`` for a whole head, ``read_timeout`` per body read, ``write_timeout`` per
  write (a client that stops reading its watch is dropped).
- A request with an ``Upgrade`` header carries ``scope["extensions"][TAKEOVER]``; calling it
  gives the app the raw stream and the bytes already read past the head. The app then writes
  the response (``101 Switching Protocols``) itself and owns the stream until it returns;
  the connection is closed after that.
- A malformed request gets a plain-text 4xx/5xx and the connection is closed; it never
  reaches the app and never raises out of :func:`serve_http11`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio

from .http11_wire import (
    LAST_CHUNK,
    ChunkedDecoder,
    ProtocolError,
    RequestHead,
    encode_chunk,
    encode_headers,
    error_response,
    http_date,
    parse_head,
)

__all__ = ["HTTP11Limits", "TAKEOVER", "serve_http11"]

log = logging.getLogger("k3trio.apiserver.http")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

_ASGI = {"spec_version": "2.3", "version": "3.0"}
#: Scope extension of ``Upgrade`` requests: ``takeover() -> (stream, buffered bytes)``.
TAKEOVER = "k3trio.takeover"
_DISCONNECT: dict[str, Any] = {"type": "http.disconnect"}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY_STATUS = frozenset((204, 304))


@dataclass(frozen=True)
class HTTP11Limits:
    """Timeouts (seconds) and sizes (bytes) of an HTTP/1.1 connection."""

    keep_alive_timeout: float = 90.0
    header_timeout: float = 30.0
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    max_head: int = 64 * 1024
    drain_limit: int = 256 * 1024
    receive_size: int = 64 * 1024
    close_timeout: float = 2.0


class _Broken(Exception):
    """The transport failed or timed out; the connection is finished."""


class _Connection:
    """One client connection: a loop of read head -> run app -> finish exchange."""

    def __init__(self, stream: trio.abc.Stream, app: ASGIApp, base_scope: dict[str, Any], limits: HTTP11Limits) -> None:
        self.stream = stream
        self.app = app
        self.base_scope = base_scope
        self.limits = limits
        self.buf = b""
        self.broken = False
        # Streams with their own deadlines (TLSStream) need no cancel scope per read or write.
        self.timed = hasattr(stream, "read_deadline") and hasattr(stream, "write_timeout")
        if self.timed:
            stream.write_timeout = limits.write_timeout  # type: ignore[attr-defined]
        # Per exchange:
        self.head: RequestHead | None = None
        self.body_left = 0
        self.decoder: ChunkedDecoder | None = None
        self.body_done = True
        self.request_given = False
        self.continue_pending = False
        self.started = False
        self.head_sent = False
        self.complete = False
        self.status = 0
        self.headers: Any = ()
        self.framing = ""
        self.declared = -1
        self.written = 0
        self.keep_alive = True
        self.done_event: trio.Event | None = None
        #: The app took the raw stream over (an Upgrade); the connection ends with the app.
        self.taken = False

    def _takeover(self) -> tuple[trio.abc.Stream, bytes]:
        """Hand the raw stream and any bytes read past the request head to the app.

        For ``Upgrade`` requests (WebSocket, SPDY): the app writes the response head itself
        and owns the stream until it returns; the connection is then closed.
        """
        self.taken = True
        self.keep_alive = False
        self.started = self.head_sent = self.complete = True
        if self.timed:
            self.stream.write_timeout = math.inf  # type: ignore[attr-defined]
        buffered, self.buf = self.buf, b""
        return self.stream, buffered

    # -- the connection loop ------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while True:
                try:
                    head = await self._read_head()
                except ProtocolError as exc:
                    await self._reject(exc)
                    return
                if head is None:
                    return
                if not await self._exchange(head):
                    return
        except _Broken:
            return
        finally:
            await self._close()

    async def _reject(self, exc: ProtocolError) -> None:
        log.debug("bad request: %s", exc)
        try:
            await self._write(error_response(exc.status, str(exc)))
        except _Broken:
            pass

    async def _close(self) -> None:
        if self.broken:
            await trio.aclose_forcefully(self.stream)
            return
        # Always a lingering close, as Go's server does after its last response: the client
        # may have sent (pipelined) bytes we never read.
        await self._linger()

    async def _linger(self) -> None:
        """Close while the client may still be sending: FIN first, then discard what arrives.

        Closing a socket with unread input makes the kernel send RST, which can destroy the
        response the client has not read yet (a 413 or 400). So the write side is shut down
        and input is discarded until the client closes or ``close_timeout`` passes.
        """
        lingering = getattr(self.stream, "aclose_lingering", None)
        if lingering is not None:
            await lingering(self.limits.close_timeout)
            return
        transport: Any = getattr(self.stream, "transport_stream", self.stream)
        try:
            with trio.move_on_after(self.limits.close_timeout):
                try:
                    await transport.send_eof()
                    while await transport.receive_some(self.limits.receive_size):
                        pass
                except (trio.BrokenResourceError, trio.ClosedResourceError, trio.BusyResourceError, OSError):
                    pass
        finally:
            await trio.aclose_forcefully(self.stream)

    # -- reading ------------------------------------------------------------------------------
    async def _recv(self, deadline: float) -> bytes | None:
        """Bytes from the peer; b"" when it closed, None at ``deadline``.

        Raises:
            _Broken: the transport failed.
        """
        stream = self.stream
        try:
            if self.timed:
                stream.read_deadline = deadline  # type: ignore[attr-defined]
                try:
                    return bytes(await stream.receive_some(self.limits.receive_size))
                finally:
                    stream.read_deadline = math.inf  # type: ignore[attr-defined]
            with trio.move_on_at(deadline):
                return bytes(await stream.receive_some(self.limits.receive_size))
            return None
        except trio.TooSlowError:
            return None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._break()
            raise _Broken() from exc

    async def _recv_body(self) -> bytes:
        """Body bytes from the peer. Raises _Broken on EOF, timeout or failure."""
        data = await self._recv(trio.current_time() + self.limits.read_timeout)
        if not data:
            self._break()
            raise _Broken()
        return data

    async def _read_head(self) -> RequestHead | None:
        limits = self.limits
        deadline = trio.current_time() + (limits.header_timeout if self.buf else limits.keep_alive_timeout)
        started = bool(self.buf)
        while True:
            buf = self.buf
            if buf[:2] == b"\r\n":
                # Stray CRLFs between requests are ignored (RFC 9112 section 2.2).
                buf = self.buf = buf.lstrip(b"\r\n")
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                if end > limits.max_head:
                    raise ProtocolError("request header fields too large", 431)
                self.buf = buf[end + 4 :]
                return parse_head(buf[:end])
            if len(buf) > limits.max_head:
                raise ProtocolError("request header fields too large", 431)
            data = await self._recv(deadline)
            if not data:
                # EOF, or the idle / header timeout: close without a response, as Go does.
                return None
            if not started:
                started = True
                deadline = trio.current_time() + limits.header_timeout
            self.buf += data

    async def _read_body(self) -> bytes:
        """The next piece of the request body (b"" only when it is complete)."""
        decoder = self.decoder
        if decoder is None:
            if not self.buf:
                self.buf = await self._recv_body()
            take = min(self.body_left, len(self.buf))
            piece = self.buf[:take]
            self.buf = self.buf[take:]
            self.body_left -= take
            if self.body_left == 0:
                self.body_done = True
            return piece
        pieces: list[bytes] = []
        while True:
            if self.buf:
                data, self.buf = self.buf, b""
            else:
                data = await self._recv_body()
            try:
                pieces += decoder.feed(data)
            except ProtocolError:
                self.keep_alive = False
                raise _Broken() from None
            if decoder.done:
                self.buf = decoder.tail
                self.body_done = True
                return b"".join(pieces)
            if pieces:
                return b"".join(pieces)

    async def _receive(self) -> dict[str, Any]:
        if self.broken:
            return _DISCONNECT
        if not self.body_done:
            if self.continue_pending:
                self.continue_pending = False
                if not self.started:
                    await self._write_or_disconnect(_CONTINUE)
                    if self.broken:
                        return _DISCONNECT
            try:
                body = await self._read_body()
            except _Broken:
                self._break()
                return _DISCONNECT
            self.request_given = True
            return {"type": "http.request", "body": body, "more_body": not self.body_done}
        if not self.request_given:
            # Every request yields at least one http.request message, even without a body.
            self.request_given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if self.complete:
            return _DISCONNECT
        return await self._wait_disconnect()

    async def _wait_disconnect(self) -> dict[str, Any]:
        """Block until the client goes away or the response is complete."""
        if self.done_event is None:
            self.done_event = trio.Event()
        done = self.done_event
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_peer, done)
            await done.wait()
            nursery.cancel_scope.cancel()
        return _DISCONNECT

    async def _watch_peer(self, done: trio.Event) -> None:
        """Read ahead (pipelined bytes are kept) until EOF; then mark the client gone."""
        while len(self.buf) <= self.limits.max_head:
            try:
                data = await self.stream.receive_some(self.limits.receive_size)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                data = b""
            if not data:
                self._break()
                return
            self.buf += data
        await trio.sleep_forever()

    # -- writing ------------------------------------------------------------------------------
    def _break(self) -> None:
        """Mark the transport dead and wake anything waiting on it."""
        if not self.broken:
            self.broken = True
            self.keep_alive = False
            # Closing the socket wakes a read pending in another task.
            abort = getattr(self.stream, "abort", None)
            if abort is not None:
                abort()
            else:
                transport = getattr(self.stream, "transport_stream", self.stream)
                sock = getattr(transport, "socket", None)
                if sock is not None:
                    sock.close()
        if self.done_event is not None:
            self.done_event.set()

    async def _write(self, data: bytes) -> None:
        """Send ``data``; raises _Broken when the peer is gone or too slow."""
        completed = False
        try:
            if self.timed:
                await self.stream.send_all(data)
                completed = True
            else:
                with trio.move_on_after(self.limits.write_timeout):
                    await self.stream.send_all(data)
                    completed = True
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError, OSError) as exc:
            self._break()
            raise _Broken() from exc
        finally:
            if not completed:
                # Cancelled or timed out part-way: the framing is lost.
                self._break()
        if not completed:
            raise _Broken()

    async def _write_or_disconnect(self, data: bytes) -> None:
        try:
            await self._write(data)
        except _Broken:
            pass

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body before http.response.start")
            if self.complete:
                raise RuntimeError("http.response.body after the response completed")
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if not more:
                self.complete = True
            if self.broken:
                return
            if not self.head_sent:
                data = self._head_bytes(body, more)
            else:
                data = self._body_bytes(body, more)
            if not more and self.done_event is not None:
                self.done_event.set()
            if data:
                await self._write_or_disconnect(data)
        elif kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            self.status = int(message["status"])
            self.headers = headers = message.get("headers", ())
            for name, _ in headers:
                if name.lower() == b"content-length":
                    return
            # A response of unknown length is a stream (a watch): its head goes out now, so
            # the client sees the status before the first event.
            data = self._head_bytes(b"", True)
            if not self.broken:
                await self._write_or_disconnect(data)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    def _head_bytes(self, body: bytes, more: bool) -> bytes:
        """The response head, plus as much of the body as belongs in the first write."""
        self.head_sent = True
        head = self.head
        assert head is not None
        status = self.status
        declared = -1
        has_date = False
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"content-length":
                declared = int(value)
            elif lowered == b"date":
                has_date = True
        extra: list[bytes] = []
        if not has_date:
            extra.append(b"date: " + http_date() + b"\r\n")
        no_body = status < 200 or status in _NO_BODY_STATUS
        if no_body:
            framing = "none"
        elif declared >= 0:
            framing = "length"
        elif not more:
            framing = "length"
            declared = len(body)
            extra.append(b"content-length: %d\r\n" % declared)
        elif head.http_version == "1.1":
            framing = "chunked"
            extra.append(b"transfer-encoding: chunked\r\n")
        else:
            framing = "close"
            self.keep_alive = False
        if not self.body_done and not self._can_drain():
            self.keep_alive = False
        if not self.keep_alive or not head.keep_alive:
            self.keep_alive = False
            extra.append(b"connection: close\r\n")
        elif head.http_version == "1.0":
            extra.append(b"connection: keep-alive\r\n")
        self.framing = framing
        self.declared = declared
        try:
            data = encode_headers(status, self.headers, b"".join(extra))
        except ValueError as exc:
            raise RuntimeError(f"invalid response: {exc}") from exc
        if head.method == "HEAD" or framing == "none":
            self.framing = "none"
            return data
        return data + self._body_bytes(body, more)

    def _body_bytes(self, body: bytes, more: bool) -> bytes:
        framing = self.framing
        if framing == "chunked":
            if more:
                return encode_chunk(body) if body else b""
            return encode_chunk(body) + LAST_CHUNK if body else LAST_CHUNK
        if framing == "none":
            return b""
        if framing == "length":
            self.written += len(body)
            if self.written > self.declared:
                self.keep_alive = False
                raise RuntimeError("response body longer than its Content-Length")
            if not more and self.written != self.declared:
                # The client would wait for the rest: end the connection instead.
                self.keep_alive = False
        return bytes(body)

    # -- one exchange -------------------------------------------------------------------------
    def _reset(self, head: RequestHead) -> None:
        self.head = head
        self.decoder = ChunkedDecoder() if head.chunked else None
        self.body_left = head.content_length or 0
        self.body_done = not head.has_body
        self.request_given = False
        self.continue_pending = head.expect_continue and head.has_body
        self.started = self.head_sent = self.complete = False
        self.status = 0
        self.headers = ()
        self.framing = ""
        self.declared = -1
        self.written = 0
        self.keep_alive = head.keep_alive
        self.done_event = None

    async def _exchange(self, head: RequestHead) -> bool:
        """Run the app for one request; True when the connection can take another."""
        self._reset(head)
        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": head.http_version,
            "method": head.method,
            "scheme": "https",
            "path": head.path,
            "raw_path": head.raw_path,
            "query_string": head.query_string,
            "root_path": "",
            "headers": head.headers,
            "extensions": {TAKEOVER: self._takeover} if _wants_upgrade(head) else {},
        }
        scope.update(self.base_scope)
        try:
            await self.app(scope, self._receive, self._send)
        except _Broken:
            return False
        except Exception:
            log.exception("error in ASGI app serving %s %s", head.method, head.path)
            if not self.started and not self.broken:
                self.keep_alive = False
                await self._write_or_disconnect(error_response(500, "internal server error"))
                return False
            self.keep_alive = False
        if self.broken or self.taken:
            return False
        if not self.started:
            self.keep_alive = False
            await self._write_or_disconnect(error_response(500, "no response from the application"))
            return False
        if not self.complete:
            # The app returned in the middle of a streamed response.
            self.complete = True
            if self.framing == "chunked" and self.keep_alive:
                await self._write_or_disconnect(LAST_CHUNK)
            else:
                self.keep_alive = False
        if not self.head_sent:
            self.keep_alive = False
        if not self.keep_alive or self.broken:
            return False
        return await self._finish_body()

    def _can_drain(self) -> bool:
        """Whether an unread request body may be discarded to keep the connection."""
        if self.continue_pending:
            # The client never got 100 Continue; it may or may not send the body.
            return False
        return self.decoder is not None or self.body_left <= self.limits.drain_limit

    async def _finish_body(self) -> bool:
        """Discard an unread request body so the next request can be read, if small enough."""
        if self.body_done:
            return True
        if not self._can_drain():
            return False
        drained = 0
        try:
            while not self.body_done:
                drained += len(await self._read_body())
                if drained > self.limits.drain_limit:
                    return False
        except _Broken:
            return False
        return True


def _wants_upgrade(head: RequestHead) -> bool:
    return any(name == b"upgrade" for name, _ in head.headers)


async def serve_http11(
    stream: trio.abc.Stream,
    app: ASGIApp,
    scope: dict[str, Any],
    limits: HTTP11Limits | None = None,
) -> None:
    """Serve HTTP/1.1 requests on an established ``stream`` until the exchange ends.

    Args:
        stream: the connection (after any TLS handshake); closed on return.
        app: the ASGI application.
        scope: keys added to every request's scope (``client``, ``server``, and anything the
            server wants the app to see, such as the peer identity).
        limits: timeouts and sizes (defaults: :class:`HTTP11Limits`).
    """
    conn = _Connection(stream, app, scope, limits or HTTP11Limits())
    await conn.run()

