"""The lean HTTP/1.1 server over real TCP on 127.0.0.1, checked with h11 as an independent client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import h11
import trio

from k3trio.api.errors import APIError
from k3trio.apiserver.handlers.common import read_body, send_bytes, send_error
from k3trio.apiserver.http11 import HTTP11Limits, serve_http11

FAST = HTTP11Limits(keep_alive_timeout=0.5, header_timeout=0.5, read_timeout=0.5, write_timeout=0.5, drain_limit=1024)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A test app: /echo returns the body; /stream streams; /limit reads with a 1 KiB limit."""
    path = scope["path"]
    if path == "/echo":
        body = await read_body(receive)
        extra = [("x-method", scope["method"]), ("x-peer", str(scope.get("peer")))]
        await send_bytes(send, 200, body, "text/plain", extra=extra)
    elif path == "/limit":
        try:
            body = await read_body(receive, limit=1024)
        except APIError as exc:
            await send_error(send, exc)
            return
        await send_bytes(send, 200, body)
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"line %d\n" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif path == "/hang":
        # A watch: stream until the client goes away.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await trio.sleep(0.2)
        await send({"type": "http.response.body", "body": b"started\n", "more_body": True})
        message = await receive()
        assert message["type"] == "http.request"
        message = await receive()
        app.seen.append(message["type"])  # type: ignore[attr-defined]
    elif path == "/flood":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        with trio.move_on_after(10):
            while True:
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
                if (await _poll(receive)) == "http.disconnect":
                    break
        app.seen.append("flood-done")  # type: ignore[attr-defined]
    elif path == "/boom":
        raise RuntimeError("boom")
    elif path == "/silent":
        return
    else:
        await send_bytes(send, 404, b"{}")


app.seen = []  # type: ignore[attr-defined]


async def _poll(receive: Any) -> str:
    with trio.move_on_after(0.01):
        message = await receive()
        return str(message["type"])
    return ""


@asynccontextmanager
async def server(limits: HTTP11Limits = FAST) -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        handler = partial(_handle, limits)
        await nursery.start(trio.serve_listeners, handler, listeners)
        yield port
        nursery.cancel_scope.cancel()


async def _handle(limits: HTTP11Limits, stream: trio.SocketStream) -> None:
    await serve_http11(stream, app, {"client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "peer": "alice"}, limits)


class Client:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)
        self.raw = b""

    async def send(self, *events: Any) -> None:
        await self.stream.send_all(b"".join(self.conn.send(e) or b"" for e in events))

    async def request(self, method: str, target: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> tuple[h11.Response, bytes]:
        hdrs = [("host", "test"), *(headers or [])]
        if body:
            hdrs.append(("content-length", str(len(body))))
        events: list[Any] = [h11.Request(method=method, target=target, headers=hdrs)]
        if body:
            events.append(h11.Data(data=body))
        events.append(h11.EndOfMessage())
        await self.send(*events)
        return await self.response()

    async def response(self) -> tuple[h11.Response, bytes]:
        response = None
        body = b""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.stream.receive_some(65536)
                self.raw += data
                self.conn.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
                    self.conn.start_next_cycle()
                return response, body
            elif isinstance(event, h11.ConnectionClosed):
                raise EOFError


async def connect(port: int) -> Client:
    return Client(await trio.open_tcp_stream("127.0.0.1", port))


async def read_all(stream: trio.SocketStream) -> bytes:
    data = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some(65536):
            data += chunk
    return data


async def test_keep_alive_reason_phrase_and_scope() -> None:
    async with server() as port:
        c = await connect(port)
        for i in range(3):
            resp, body = await c.request("POST", "/echo", b"hello %d" % i)
            assert resp.status_code == 200 and body == b"hello %d" % i
            assert resp.reason == b"OK"
            headers = dict(resp.headers)
            assert headers[b"x-method"] == b"POST" and headers[b"x-peer"] == b"alice"
            assert b"date" in headers and headers[b"content-length"] == b"%d" % len(body)
        resp, _ = await c.request("GET", "/missing")
        assert resp.status_code == 404 and resp.reason == b"Not Found"
        assert b"HTTP/1.1 404 Not Found\r\n" in c.raw


async def test_pipelined_requests_answered_in_order() -> None:
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        reqs = b"".join(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n%02d" % i for i in range(5)
        ) + b"GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        await stream.send_all(reqs)
        data = await read_all(stream)
        bodies = [part.split(b"\r\n\r\n", 1)[1][:2] for part in data.split(b"HTTP/1.1 ")[1:]]
        assert bodies == [b"00", b"01", b"02", b"03", b"04", b"{}"]
        assert data.count(b"HTTP/1.1 200 OK") == 5 and b"connection: close" in data


async def test_streamed_response_is_chunked_and_connection_reusable() -> None:
    async with server() as port:
        c = await connect(port)
        resp, body = await c.request("GET", "/stream")
        assert dict(resp.headers)[b"transfer-encoding"] == b"chunked"
        assert body == b"line 0\nline 1\nline 2\n"
        assert b"7\r\nline 0\n\r\n" in c.raw and c.raw.endswith(b"0\r\n\r\n")
        assert b"content-length" not in c.raw
        resp, body = await c.request("POST", "/echo", b"again")
        assert body == b"again"


async def test_http10_streaming_is_close_delimited() -> None:
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET /stream HTTP/1.0\r\n\r\n")
        data = await read_all(stream)
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"chunked" not in data
        assert data.endswith(b"line 0\nline 1\nline 2\n")


async def test_chunked_request_body() -> None:
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await trio.sleep(0.01)
        await stream.send_all(b"2\r\nde\r\n0\r\n\r\nGET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = await read_all(stream)
        assert b"content-length: 5\r\n" in data and b"\r\n\r\nabcde" in data and b"404 Not Found" in data


async def test_large_body_gets_413_from_the_app_and_connection_closes() -> None:
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        body = b"x" * 100_000
        await stream.send_all(b"POST /limit HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body))
        with trio.move_on_after(2):
            await stream.send_all(body)
        data = await read_all(stream)
        assert data.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")
        assert b"connection: close" in data


async def test_small_unread_body_is_drained_and_connection_kept() -> None:
    async with server() as port:
        c = await connect(port)
        resp, _ = await c.request("POST", "/missing", b"y" * 500)
        assert resp.status_code == 404
        resp, body = await c.request("POST", "/echo", b"next")
        assert body == b"next"


async def test_expect_100_continue() -> None:
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        with trio.fail_after(5):
            got = await stream.receive_some(65536)
        assert got == b"HTTP/1.1 100 Continue\r\n\r\n"
        await stream.send_all(b"body")
        with trio.fail_after(5):
            got = await stream.receive_some(65536)
        assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b"body")


async def test_expect_100_without_reading_closes_after_response() -> None:
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"POST /missing HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        data = await read_all(stream)
        assert data.startswith(b"HTTP/1.1 404 Not Found\r\n") and b"100 Continue" not in data
        assert b"connection: close" in data


async def test_malformed_requests_get_400_and_server_keeps_serving() -> None:
    cases = [
        (b"GARBAGE\r\n\r\n", b"400 Bad Request"),
        (b"GET / HTTP/1.1\r\n\r\n", b"400 Bad Request"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", b"400 Bad Request"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", b"501 Not Implemented"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", b"431 Request Header Fields Too Large"),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b""),
    ]
    async with server() as port:
        for raw, expected in cases:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            with trio.move_on_after(1):
                await stream.send_all(raw)
            data = await read_all(stream)
            assert data.startswith(b"HTTP/1.1 " + expected) if expected else data == b""
        c = await connect(port)
        resp, body = await c.request("POST", "/echo", b"still fine")
        assert body == b"still fine"


async def test_app_errors_become_500() -> None:
    async with server() as port:
        for path in ("/boom", "/silent"):
            c = await connect(port)
            resp, _ = await c.request("GET", path)
            assert resp.status_code == 500 and resp.reason == b"Internal Server Error"


async def test_head_has_no_body() -> None:
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"HEAD /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = await read_all(stream)
        assert data.startswith(b"HTTP/1.1 404 Not Found\r\n") and b"content-length: 2\r\n" in data
        assert data.endswith(b"\r\n\r\n")


async def test_streaming_app_sees_disconnect() -> None:
    app.seen.clear()  # type: ignore[attr-defined]
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
        with trio.fail_after(0.15):
            got = await stream.receive_some(65536)
        # The head of a stream is sent at once, before its first chunk.
        assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b"transfer-encoding: chunked\r\n\r\n")
        with trio.fail_after(5):
            got = await stream.receive_some(65536)
        assert got == b"8\r\nstarted\n\r\n"
        await stream.aclose()
        with trio.fail_after(5):
            while not app.seen:  # type: ignore[attr-defined]
                await trio.sleep(0.01)
        assert app.seen == ["http.disconnect"]  # type: ignore[attr-defined]


async def test_client_that_stops_reading_is_dropped() -> None:
    app.seen.clear()  # type: ignore[attr-defined]
    async with server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET /flood HTTP/1.1\r\nHost: t\r\n\r\n")
        with trio.fail_after(8):
            while not app.seen:  # type: ignore[attr-defined]
                await trio.sleep(0.05)
        assert app.seen == ["flood-done"]  # type: ignore[attr-defined]
        await stream.aclose()


async def test_idle_connection_is_closed() -> None:
    async with server() as port:
        c = await connect(port)
        await c.request("GET", "/missing")
        with trio.fail_after(5):
            assert await c.stream.receive_some(10) == b""


async def test_many_concurrent_connections() -> None:
    results: list[bytes] = []
    async with server(HTTP11Limits()) as port:

        async def one(i: int) -> None:
            c = await connect(port)
            for j in range(3):
                _, body = await c.request("POST", "/echo", b"%d-%d" % (i, j))
                results.append(body)
            await c.stream.aclose()

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for i in range(200):
                    nursery.start_soon(one, i)
    assert sorted(results) == sorted(b"%d-%d" % (i, j) for i in range(200) for j in range(3))
