"""The sans-IO HTTP/1.1 wire layer: request heads, chunked bodies, response heads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3trio.apiserver.http11_wire import (
    ChunkedDecoder,
    ProtocolError,
    encode_chunk,
    encode_headers,
    error_response,
    parse_head,
    reason_phrase,
    status_line,
)


def head(*lines: str) -> bytes:
    return "\r\n".join(lines).encode("latin-1")


def test_parse_simple_get() -> None:
    h = parse_head(head("GET /api/v1/namespaces/a%20b/pods?watch=1&x=%2F HTTP/1.1", "Host: h", "Accept:  application/json ", "X-Y:"))
    assert h.method == "GET"
    assert h.http_version == "1.1"
    assert h.raw_path == b"/api/v1/namespaces/a%20b/pods"
    assert h.path == "/api/v1/namespaces/a b/pods"
    assert h.query_string == b"watch=1&x=%2F"
    assert h.headers == [(b"host", b"h"), (b"accept", b"application/json"), (b"x-y", b"")]
    assert h.content_length == 0 and not h.chunked and not h.has_body
    assert h.keep_alive and not h.expect_continue


def test_absolute_form_target() -> None:
    h = parse_head(head("GET https://example:6443/api?x=1 HTTP/1.1", "Host: example"))
    assert h.raw_path == b"/api" and h.query_string == b"x=1"
    assert parse_head(head("GET http://example HTTP/1.1", "Host: e")).raw_path == b"/"


@pytest.mark.parametrize(
    ("lines", "keep_alive"),
    [
        (("GET / HTTP/1.1", "Host: h"), True),
        (("GET / HTTP/1.1", "Host: h", "Connection: close"), False),
        (("GET / HTTP/1.1", "Host: h", "Connection: Keep-Alive, Close"), False),
        (("GET / HTTP/1.0",), False),
        (("GET / HTTP/1.0", "Connection: keep-alive"), True),
    ],
)
def test_keep_alive_rules(lines: tuple[str, ...], keep_alive: bool) -> None:
    assert parse_head(head(*lines)).keep_alive is keep_alive


def test_body_framing() -> None:
    h = parse_head(head("POST / HTTP/1.1", "Host: h", "Content-Length: 12", "content-length: 12"))
    assert h.content_length == 12 and h.has_body
    h = parse_head(head("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: Chunked", "Expect: 100-continue"))
    assert h.chunked and h.content_length is None and h.expect_continue


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        (("GET / HTTP/1.1",), 400),  # no Host
        (("GET / HTTP/1.1", "Host: a", "Host: b"), 400),
        (("GET /  HTTP/1.1", "Host: h"), 400),
        (("GET / HTTP/1.1 x", "Host: h"), 400),
        (("G(T / HTTP/1.1", "Host: h"), 400),
        (("GET / HTTP/2.0", "Host: h"), 505),
        (("GET / HTTQ/1.1", "Host: h"), 400),
        (("GET nopath HTTP/1.1", "Host: h"), 400),
        (("GET / HTTP/1.1", "Host: h", "Bad Name: x"), 400),
        (("GET / HTTP/1.1", "Host: h", "Name : x"), 400),
        (("GET / HTTP/1.1", "Host: h", "NoColon"), 400),
        (("GET / HTTP/1.1", "Host: h", " folded: x"), 400),
        (("GET / HTTP/1.1", "Host: h", "X: a\x00b"), 400),
        (("POST / HTTP/1.1", "Host: h", "Content-Length: -1"), 400),
        (("POST / HTTP/1.1", "Host: h", "Content-Length: 1", "Content-Length: 2"), 400),
        (("POST / HTTP/1.1", "Host: h", "Content-Length: 1", "Transfer-Encoding: chunked"), 400),
        (("POST / HTTP/1.1", "Host: h", "Transfer-Encoding: gzip, chunked"), 501),
        (("POST / HTTP/1.0", "Transfer-Encoding: chunked"), 400),
        (("POST / HTTP/1.1", "Host: h", "Expect: something"), 417),
    ],
)
def test_malformed_heads(lines: tuple[str, ...], status: int) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_head(head(*lines))
    assert info.value.status == status


def test_bare_line_feed_and_non_ascii_rejected() -> None:
    with pytest.raises(ProtocolError):
        parse_head(b"GET / HTTP/1.1\nHost: h")
    with pytest.raises(ProtocolError):
        parse_head(b"GET /\xc3\xa9 HTTP/1.1\r\nHost: h")


def test_reason_phrases() -> None:
    assert status_line(404) == b"HTTP/1.1 404 Not Found\r\n"
    assert status_line(422) == b"HTTP/1.1 422 Unprocessable Entity\r\n"
    assert status_line(201) == b"HTTP/1.1 201 Created\r\n"
    assert reason_phrase(429) == b"Too Many Requests"
    assert status_line(599) == b"HTTP/1.1 599 \r\n"
    with pytest.raises(ValueError):
        status_line(99)


def test_encode_headers_rejects_injection() -> None:
    assert encode_headers(200, [(b"a", b"b")]) == b"HTTP/1.1 200 OK\r\na: b\r\n\r\n"
    with pytest.raises(ValueError):
        encode_headers(200, [(b"a", b"b\r\nx: y")])
    with pytest.raises(ValueError):
        encode_headers(200, [(b"a b", b"c")])


def test_error_response_closes() -> None:
    data = error_response(400, "bad")
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"connection: close\r\n" in data and data.endswith(b"400 Bad Request: bad")


def test_chunked_decoder_with_extensions_and_trailers() -> None:
    d = ChunkedDecoder()
    out = d.feed(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nGET / HTTP/1.1")
    assert b"".join(out) == b"hello world" and d.done and d.tail == b"GET / HTTP/1.1"


@pytest.mark.parametrize("data", [b"zz\r\n", b"5\r\nhelloXX", b"\r\n", b"1" * 5000])
def test_chunked_decoder_errors(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ChunkedDecoder().feed(data)


@given(
    pieces=st.lists(st.binary(min_size=1, max_size=50), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=10),
)
def test_chunked_round_trip_any_split(pieces: list[bytes], cuts: list[int]) -> None:
    wire = b"".join(encode_chunk(p) for p in pieces) + b"0\r\n\r\nNEXT"
    points = sorted({min(c, len(wire)) for c in cuts} | {0, len(wire)})
    d = ChunkedDecoder()
    out: list[bytes] = []
    for a, b in zip(points, points[1:]):
        out += d.feed(wire[a:b])
    assert d.done and b"".join(out) == b"".join(pieces) and d.tail == b"NEXT"
