"""Container logs from CRI log files, as the kubelet serves ``/containerLogs``.

A CRI log file (written by containerd) holds one record per line::

    <RFC3339Nano timestamp> <stdout|stderr> <P|F> <content>\\n

``F`` closes a line of the container's output; ``P`` is a partial piece of a longer line
(containerd splits lines at 16 KiB) whose content carries no newline of its own.

Output, as upstream's kubelet writes it: each record's content, followed by ``\\n`` for an
``F`` record; with ``timestamps`` each record is preceded by its time in UTC with nine
fraction digits and a space.

Options (``LogOptions``, built from the query by :func:`parse_log_options`):

- ``tail_lines``: start at the ``n``-th record from the end (records are counted by
  newline, as upstream counts them; ``0`` means nothing from the past).
- ``since_ns``: skip records older than this time (nanoseconds since the epoch).
- ``limit_bytes``: stop after this many output bytes (the last write is cut).
- ``follow``: at the end of the file wait for more while the container runs.

Invariants: a malformed line is skipped, never ends the stream; output is never split in the
middle of a record except by ``limit_bytes``; a follow ends once the container stopped and
the file holds nothing more.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

import attrs
import trio

__all__ = [
    "LogLine",
    "LogOptions",
    "LogOptionError",
    "format_timestamp",
    "parse_log_line",
    "parse_log_options",
    "parse_rfc3339_ns",
    "render",
    "stream_log_file",
    "tail_offset",
]

#: How often a follow looks for new output, and whether the container still runs.
FOLLOW_POLL = 0.2
READ_SIZE = 64 * 1024

_TS = re.compile(
    rb"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    rb"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


class LogOptionError(ValueError):
    """A log query parameter has an invalid value (a 400 for the caller)."""


@attrs.frozen
class LogLine:
    """One record of a CRI log file."""

    timestamp_ns: int
    stream: str
    partial: bool
    content: bytes


@attrs.frozen
class LogOptions:
    """What a log request asks for (see module doc)."""

    follow: bool = False
    tail_lines: int | None = None
    since_ns: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None
    previous: bool = False
    #: Only this stream (``stdout``/``stderr``), or both when empty.
    stream: str = ""


def parse_rfc3339_ns(text: bytes | str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time with up to nine fraction digits.

    Raises:
        ValueError: ``text`` is not such a time.
    """
    raw = text.encode() if isinstance(text, str) else text
    m = _TS.match(raw)
    if m is None:
        raise ValueError(f"invalid RFC 3339 time {raw!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = m.group(7) or b""
    ns = int(fraction.ljust(9, b"0")) if fraction else 0
    base = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    seconds = int(base.timestamp())
    if m.group(9):
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * 60
        seconds -= offset if m.group(9) == b"+" else -offset
    return seconds * 1_000_000_000 + ns


def format_timestamp(ns: int) -> bytes:
    """``2006-01-02T15:04:05.000000000Z`` for ``ns`` nanoseconds since the epoch (UTC)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z".encode()


def parse_log_line(raw: bytes) -> LogLine:
    """One CRI log record (without its trailing newline).

    Raises:
        ValueError: the record is malformed.
    """
    parts = raw.split(b" ", 3)
    if len(parts) < 3:
        raise ValueError(f"invalid CRI log line {raw[:80]!r}")
    ts, stream, tag = parts[0], parts[1], parts[2]
    if stream not in (b"stdout", b"stderr"):
        raise ValueError(f"unexpected stream type {stream!r}")
    # The tag may carry more flags after ':' in newer runtimes; the first is P or F.
    first = tag.split(b":", 1)[0]
    if first not in (b"P", b"F"):
        raise ValueError(f"unexpected log tag {tag!r}")
    content = parts[3] if len(parts) == 4 else b""
    return LogLine(parse_rfc3339_ns(ts), stream.decode(), first == b"P", content)


def render(line: LogLine, timestamps: bool) -> bytes:
    """The bytes a record contributes to the output."""
    out = line.content if line.partial else line.content + b"\n"
    if timestamps:
        return format_timestamp(line.timestamp_ns) + b" " + out
    return out


def _int_param(query: Mapping[str, Sequence[str]], name: str) -> int | None:
    values = query.get(name)
    if not values or values[-1] == "":
        return None
    try:
        return int(values[-1])
    except ValueError:
        raise LogOptionError(f"invalid value {values[-1]!r} for {name}") from None


def _bool_param(query: Mapping[str, Sequence[str]], name: str) -> bool:
    values = query.get(name)
    if not values:
        return False
    value = values[-1]
    if value in ("", "1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise LogOptionError(f"invalid value {value!r} for {name}")


def parse_log_options(query: Mapping[str, Sequence[str]], now_ns: int) -> LogOptions:
    """``PodLogOptions`` from a query (``follow``, ``tailLines``, ``sinceSeconds``,
    ``sinceTime``, ``timestamps``, ``limitBytes``, ``previous``, ``stream``).

    Raises:
        LogOptionError: a value is invalid (negative numbers, both since options, ...).
    """
    tail = _int_param(query, "tailLines")
    if tail is not None and tail < 0:
        raise LogOptionError("tailLines: Invalid value: must be greater than or equal to 0")
    limit = _int_param(query, "limitBytes")
    if limit is not None and limit < 1:
        raise LogOptionError("limitBytes: Invalid value: must be greater than 0")
    since_seconds = _int_param(query, "sinceSeconds")
    since_time = (query.get("sinceTime") or [""])[-1]
    if since_seconds is not None and since_time:
        raise LogOptionError("at most one of `sinceTime` or `sinceSeconds` may be specified")
    since_ns: int | None = None
    if since_seconds is not None:
        if since_seconds < 1:
            raise LogOptionError("sinceSeconds: Invalid value: must be greater than 0")
        since_ns = now_ns - since_seconds * 1_000_000_000
    elif since_time:
        try:
            since_ns = parse_rfc3339_ns(since_time)
        except ValueError:
            raise LogOptionError(f"invalid value {since_time!r} for sinceTime") from None
    stream = (query.get("stream") or [""])[-1]
    if stream.lower() == "all":
        stream = ""
    if stream not in ("", "Stdout", "Stderr", "stdout", "stderr"):
        raise LogOptionError(f"stream: Unsupported value: {stream!r}")
    if stream and tail is not None:
        raise LogOptionError("tailLines: Forbidden: tailLines is not supported when stream is set")
    return LogOptions(
        follow=_bool_param(query, "follow"),
        tail_lines=tail,
        since_ns=since_ns,
        timestamps=_bool_param(query, "timestamps"),
        limit_bytes=limit,
        previous=_bool_param(query, "previous"),
        stream=stream.lower(),
    )


def tail_offset(fd: int, size: int, lines: int) -> int:
    """The file offset where the last ``lines`` newline-terminated records start.

    A last record without its newline yet counts as one record.
    """
    if lines <= 0:
        return size
    pos = size
    found = 0
    # A final newline ends the last record; it does not start a new one.
    skip_last = True
    while pos > 0:
        start = max(0, pos - READ_SIZE)
        block = os.pread(fd, pos - start, start)
        end = len(block)
        if skip_last:
            skip_last = False
            if block.endswith(b"\n"):
                end -= 1
        while True:
            idx = block.rfind(b"\n", 0, end)
            if idx < 0:
                break
            found += 1
            if found == lines:
                return start + idx + 1
            end = idx
        pos = start
    return 0


class _Output:
    """Writes rendered records, honouring ``limit_bytes``."""

    def __init__(self, write: Callable[[bytes], Awaitable[None]], limit: int | None) -> None:
        self._write = write
        self._left = limit

    @property
    def full(self) -> bool:
        return self._left is not None and self._left <= 0

    async def send(self, data: bytes) -> None:
        if not data or self.full:
            return
        if self._left is not None:
            data = data[: self._left]
            self._left -= len(data)
        await self._write(data)


async def stream_log_file(
    path: str,
    opts: LogOptions,
    write: Callable[[bytes], Awaitable[None]],
    *,
    running: Callable[[], Awaitable[bool]] | None = None,
    poll: float = FOLLOW_POLL,
) -> None:
    """Send the log at ``path`` through ``write`` per ``opts`` (see module doc).

    Args:
        running: with ``opts.follow``, whether the container still writes to the file;
            the follow ends once it says no and the file has nothing more.

    Raises:
        FileNotFoundError: the file does not exist.
    """
    # Local log files: reads of at most READ_SIZE bytes are done in the event loop (a page
    # cache hit takes microseconds), with a checkpoint after each.
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        offset = 0 if opts.tail_lines is None else tail_offset(fd, size, opts.tail_lines)
        out = _Output(write, opts.limit_bytes)
        pending = b""
        while not out.full:
            chunk = os.pread(fd, READ_SIZE, offset)
            await trio.lowlevel.checkpoint()
            if chunk:
                offset += len(chunk)
                pending += chunk
                records = pending.split(b"\n")
                pending = records.pop()
                buf = bytearray()
                for raw in records:
                    try:
                        line = parse_log_line(raw)
                    except ValueError:
                        continue
                    if opts.since_ns is not None and line.timestamp_ns < opts.since_ns:
                        continue
                    if opts.stream and line.stream != opts.stream:
                        continue
                    buf += render(line, opts.timestamps)
                await out.send(bytes(buf))
                continue
            if not opts.follow:
                break
            if running is None or not await running():
                # One more look: the container may have written its last lines just now.
                if os.fstat(fd).st_size <= offset:
                    break
                continue
            await trio.sleep(poll)
    finally:
        os.close(fd)
