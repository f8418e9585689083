"""HTTP/2 request header checks (RFC 9113 section 8) done in one pass by the API server."""

from __future__ import annotations

import pytest

from k3trio.apiserver.http2 import _decode_huffman_memo, malformed_request

GOOD = [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"h"),
        (b":path", b"/api"), (b"accept", b"application/json")]


def test_a_plain_request_is_well_formed() -> None:
    assert malformed_request(GOOD) is None
    assert malformed_request([(b":method", b"CONNECT"), (b":authority", b"h:1")]) is None
    assert malformed_request([*GOOD, (b"te", b"trailers")]) is None


@pytest.mark.parametrize(("headers", "why"), [
    ([(b"accept", b"*/*"), *GOOD], "after regular"),
    ([*GOOD[:4], (b":status", b"200")], "unknown pseudo-header"),
    ([*GOOD, (b":path", b"/x")], "after regular"),
    ([*GOOD[:4], (b":path", b"/x")], "duplicate"),
    ([*GOOD, (b"Accept", b"x")], "lower-case"),
    ([*GOOD, (b"connection", b"keep-alive")], "connection-specific"),
    ([*GOOD, (b"transfer-encoding", b"chunked")], "connection-specific"),
    ([*GOOD, (b"te", b"gzip")], "te other"),
    ([*GOOD, (b"x", b"a\r\nb: c")], "illegal character"),
    ([(b":scheme", b"https"), (b":path", b"/")], "no :method"),
    ([(b":method", b"GET"), (b":scheme", b"https")], "no :scheme or :path"),
    ([(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"")], "no :scheme or :path"),
])
def test_malformed_requests_say_why(headers: list[tuple[bytes, bytes]], why: str) -> None:
    problem = malformed_request(headers)
    assert problem is not None and why in problem, problem


def test_huffman_memo_decodes_like_hpack() -> None:
    from hpack.huffman import HuffmanEncoder
    from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

    encoder = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
    for text in (b"short", b"Bearer " + b"eyJhbGciOiJSUzI1NiJ9." * 20):
        encoded = encoder.encode(text)
        assert _decode_huffman_memo(memoryview(encoded)) == text
        assert _decode_huffman_memo(encoded) == text  # remembered the second time
