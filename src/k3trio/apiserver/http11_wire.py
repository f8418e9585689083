"""HTTP/1.1 wire format for the API server: request heads in, response heads out, no I/O.

This is the sans-IO half of :mod:`.http11`. It parses a complete request head (everything
before the blank line), decodes chunked request bodies incrementally, and encodes response
heads and chunks. It is written for the API server's hot path: a request head is parsed with
a handful of C-level ``bytes`` operations rather than per-character work.

Invariants and rules (RFC 9112, and what Go's ``net/http`` does where the RFC leaves room):
- Lines end in CRLF; a bare CR or LF, any other control character, obsolete line folding, or
  whitespace between a header name and its colon make the request malformed (400).
- A request with both ``Transfer-Encoding`` and ``Content-Length``, a ``Content-Length`` that is
  not a decimal number, or several different ``Content-Length`` values is malformed (400), so
  two parties can never disagree about where a request ends (no request smuggling).
- ``Transfer-Encoding`` other than exactly ``chunked`` is not implemented (501).
- HTTP/1.1 requests need exactly one ``Host`` header (400 otherwise), as Go requires.
- Header names are lower-cased; values keep their bytes, minus surrounding spaces and tabs.
- Every response status line carries the standard reason phrase (``404 Not Found``).
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote

__all__ = [
    "ProtocolError",
    "RequestHead",
    "ChunkedDecoder",
    "parse_head",
    "reason_phrase",
    "status_line",
    "encode_headers",
    "encode_chunk",
    "http_date",
    "error_response",
    "LAST_CHUNK",
]

#: The bytes that end a chunked body (no trailers).
LAST_CHUNK = b"0\r\n\r\n"

# Characters allowed in a token (RFC 9110 section 5.6.2): removing them must leave nothing.
_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Control characters other than HTAB, CR and LF never appear in a head.
_CTL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEX = frozenset(b"0123456789abcdefABCDEF")
#: Longest chunk-size line (size, extensions) accepted in a chunked body.
MAX_CHUNK_LINE = 4096
#: Largest trailer section accepted after the last chunk.
MAX_TRAILERS = 16 * 1024


class ProtocolError(Exception):
    """The peer broke HTTP/1.1; ``status`` is the response to send before closing."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


_REASONS: dict[int, bytes] = {s.value: s.phrase.encode("latin-1") for s in HTTPStatus}
# Go's http.StatusText spellings where Python's differ.
_REASONS.update({418: b"I'm a teapot", 413: b"Request Entity Too Large", 414: b"Request URI Too Long"})
_STATUS_LINES: dict[int, bytes] = {}


def reason_phrase(status: int) -> bytes:
    """The standard reason phrase of ``status`` (empty for codes without one)."""
    return _REASONS.get(status, b"")


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <code> <reason>\\r\\n`` (cached per code).

    Raises:
        ValueError: ``status`` is not a three-digit code.
    """
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"invalid HTTP status {status!r}")
        line = b"HTTP/1.1 %d %s\r\n" % (status, reason_phrase(status))
        _STATUS_LINES[status] = line
    return line


class RequestHead:
    """A parsed request head and the framing facts derived from it."""

    __slots__ = (
        "method", "target", "path", "raw_path", "query_string", "http_version", "headers",
        "content_length", "chunked", "keep_alive", "expect_continue",
    )

    def __init__(
        self, method: str, target: bytes, raw_path: bytes, query_string: bytes, http_version: str,
        headers: list[tuple[bytes, bytes]], content_length: int | None, chunked: bool,
        keep_alive: bool, expect_continue: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.raw_path = raw_path
        self.path = unquote(raw_path.decode("ascii"))
        self.query_string = query_string
        self.http_version = http_version
        self.headers = headers
        #: The body length, 0 without a body, None when the body is chunked.
        self.content_length = content_length
        self.chunked = chunked
        #: The client allows the connection to be reused after this request.
        self.keep_alive = keep_alive
        #: The client waits for ``100 Continue`` before sending the body.
        self.expect_continue = expect_continue

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)

    def __repr__(self) -> str:
        return f"RequestHead({self.method} {self.target!r} HTTP/{self.http_version})"


def _split_target(target: bytes) -> tuple[bytes, bytes]:
    """The path and query of a request target (origin-form or absolute-form)."""
    if target[:1] != b"/":
        if target == b"*":
            return b"*", b""
        lowered = target[:8].lower()
        if lowered.startswith(b"https://") or lowered.startswith(b"http://"):
            rest = target.split(b"//", 1)[1]
            slash = rest.find(b"/")
            mark = rest.find(b"?")
            if slash < 0 or (0 <= mark < slash):
                target = b"/" + rest[mark:] if mark >= 0 else b"/"
            else:
                target = rest[slash:]
        else:
            raise ProtocolError("malformed request target")
    path, _, query = target.partition(b"?")
    return path, query


def parse_head(head: bytes) -> RequestHead:
    """Parse a request head: the bytes before the empty line that ends it (without it).

    Raises:
        ProtocolError: the head is malformed (400), or uses what is not implemented (501).
    """
    if _CTL.search(head) is not None:
        raise ProtocolError("invalid control character in request head")
    lines = head.split(b"\r\n")
    if head.count(b"\n") != len(lines) - 1 or head.count(b"\r") != len(lines) - 1:
        raise ProtocolError("bare CR or LF in request head")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise ProtocolError("malformed request line")
    method_b, target, version = parts
    if not method_b or method_b.translate(None, _TOKEN_CHARS):
        raise ProtocolError("malformed method")
    if version == b"HTTP/1.1":
        http_version = "1.1"
    elif version == b"HTTP/1.0":
        http_version = "1.0"
    elif version.startswith(b"HTTP/") and len(version) == 8 and version[5:6].isdigit():
        raise ProtocolError("unsupported HTTP version", 505)
    else:
        raise ProtocolError("malformed HTTP version")
    if not target or b"\t" in target:
        raise ProtocolError("malformed request target")
    raw_path, query_string = _split_target(target)
    try:
        raw_path.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("request target is not ASCII") from None

    headers: list[tuple[bytes, bytes]] = []
    content_length: int | None = None
    transfer_encoding: bytes | None = None
    connection: bytes = b""
    expect = False
    hosts = 0
    for line in lines[1:]:
        colon = line.find(b":")
        if colon <= 0:
            raise ProtocolError("malformed header line")
        name = line[:colon]
        if name.translate(None, _TOKEN_CHARS):
            raise ProtocolError("malformed header name")
        name = name.lower()
        value = line[colon + 1 :].strip(b" \t")
        headers.append((name, value))
        if name == b"content-length":
            if not value.isdigit() or len(value) > 18:
                raise ProtocolError("invalid Content-Length")
            length = int(value)
            if content_length is not None and content_length != length:
                raise ProtocolError("conflicting Content-Length headers")
            content_length = length
        elif name == b"transfer-encoding":
            transfer_encoding = value if transfer_encoding is None else transfer_encoding + b"," + value
        elif name == b"connection":
            connection = connection + b"," + value.lower() if connection else value.lower()
        elif name == b"host":
            hosts += 1
        elif name == b"expect":
            if value.lower() == b"100-continue":
                expect = True
            else:
                raise ProtocolError("unsupported Expect header", 417)
    chunked = False
    if transfer_encoding is not None:
        if content_length is not None:
            raise ProtocolError("both Transfer-Encoding and Content-Length")
        if http_version == "1.0":
            raise ProtocolError("Transfer-Encoding in an HTTP/1.0 request")
        if transfer_encoding.strip(b" \t").lower() != b"chunked":
            raise ProtocolError("unsupported Transfer-Encoding", 501)
        chunked = True
    if http_version == "1.1" and hosts != 1:
        raise ProtocolError("missing required Host header" if hosts == 0 else "too many Host headers")
    tokens = {t.strip(b" \t") for t in connection.split(b",")} if connection else set()
    if http_version == "1.1":
        keep_alive = b"close" not in tokens
    else:
        keep_alive = b"keep-alive" in tokens and b"close" not in tokens
    if content_length is None and not chunked:
        content_length = 0
    return RequestHead(
        method_b.decode("ascii"), target, raw_path, query_string, http_version, headers,
        content_length, chunked, keep_alive, expect and http_version == "1.1",
    )


class ChunkedDecoder:
    """Incremental decoder of a chunked request body.

    Feed it bytes as they arrive; it returns body data decoded so far. When ``done`` is set,
    ``tail`` holds the bytes after the body (the start of a pipelined request).
    """

    __slots__ = ("_buf", "_remaining", "_state", "done", "tail")

    def __init__(self) -> None:
        self._buf = b""
        self._remaining = 0
        # "size": expecting a chunk-size line; "data": inside a chunk; "crlf": after chunk
        # data; "trailers": after the last chunk.
        self._state = "size"
        self.done = False
        self.tail = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Decode ``data``; return the body pieces it completed (possibly none).

        Raises:
            ProtocolError: the chunked framing is malformed.
        """
        if self.done:
            self.tail += data
            return []
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        pos = 0
        while True:
            state = self._state
            if state == "data":
                take = min(self._remaining, len(buf) - pos)
                if take == 0:
                    break
                out.append(buf[pos : pos + take])
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = "crlf"
                continue
            if state == "crlf":
                if len(buf) - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise ProtocolError("missing CRLF after chunk data")
                pos += 2
                self._state = "size"
                continue
            if state == "size":
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if len(buf) - pos > MAX_CHUNK_LINE:
                        raise ProtocolError("chunk size line too long")
                    break
                line = buf[pos:end]
                pos = end + 2
                size_text = line.split(b";", 1)[0].strip(b" \t")
                if not size_text or len(size_text) > 15 or any(c not in _HEX for c in size_text):
                    raise ProtocolError("invalid chunk size")
                size = int(size_text, 16)
                if size == 0:
                    self._state = "trailers"
                else:
                    self._remaining = size
                    self._state = "data"
                continue
            # trailers: lines until an empty one; their content is ignored.
            end = buf.find(b"\r\n", pos)
            if end < 0:
                if len(buf) - pos > MAX_TRAILERS:
                    raise ProtocolError("trailers too long")
                break
            if end == pos:
                self.done = True
                self.tail = buf[end + 2 :]
                self._buf = b""
                return out
            pos = end + 2
        self._buf = buf[pos:]
        return out


def encode_headers(status: int, headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...],
                   extra: bytes = b"") -> bytes:
    """A response head: status line, ``headers``, ``extra`` (pre-encoded lines), blank line.

    Raises:
        ValueError: a header name or value would break the framing (CR, LF or a colon in a
            name, CR or LF in a value).
    """
    parts = [status_line(status)]
    for name, value in headers:
        parts.append(name)
        parts.append(b": ")
        parts.append(value)
        parts.append(b"\r\n")
    parts.append(extra)
    parts.append(b"\r\n")
    head = b"".join(parts)
    # One CRLF per header line plus the status line and the end; anything else is injected.
    if head.count(b"\n") != len(headers) + 2 + extra.count(b"\n"):
        raise ValueError("response header contains a line break")
    for name, _ in headers:
        if b":" in name or not name or name.translate(None, _TOKEN_CHARS):
            raise ValueError(f"invalid response header name {name!r}")
    return head


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked response body (``data`` must not be empty)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The current time as an HTTP ``Date`` value (recomputed once a second)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date_cache[1]


def error_response(status: int, message: str) -> bytes:
    """A complete plain-text response that closes the connection (as Go sends for bad requests)."""
    body = f"{status} {reason_phrase(status).decode('latin-1')}: {message}".encode()
    head = encode_headers(status, [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"connection", b"close"),
        (b"date", http_date()),
        (b"content-length", b"%d" % len(body)),
    ])
    return head + body
