"""CRI log files as the kubelet serves them: parsing, tail, since, timestamps, limit, follow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from k3trio.agent.kubelet.streaming.logs import (
    LogOptionError,
    LogOptions,
    format_timestamp,
    parse_log_line,
    parse_log_options,
    parse_rfc3339_ns,
    stream_log_file,
    tail_offset,
)
from k3trio.agent.kubelet.streaming.logstatus import ContainerLogError, container_id_for_logs

T0 = "2024-05-01T10:00:00.000000001Z"
T1 = "2024-05-01T10:00:01.5Z"
T2 = "2024-05-01T12:00:02.123456789+02:00"  # 10:00:02.123456789Z

CONTENT = (
    f"{T0} stdout F line one\n"
    f"{T1} stderr F oops\n"
    f"{T2} stdout P part-\n"
    f"{T2} stdout F two\n"
    "garbage line\n"
    f"{T2} stdout F last\n"
).encode()


def test_parse_line_and_times() -> None:
    line = parse_log_line(b"2024-05-01T10:00:00.000000001Z stdout F hello world")
    assert (line.stream, line.partial, line.content) == ("stdout", False, b"hello world")
    assert parse_rfc3339_ns(T2) == parse_rfc3339_ns("2024-05-01T10:00:02.123456789Z")
    assert format_timestamp(parse_rfc3339_ns(T1)) == b"2024-05-01T10:00:01.500000000Z"
    assert parse_log_line(b"2024-05-01T10:00:00Z stdout F").content == b""
    with pytest.raises(ValueError):
        parse_log_line(b"2024-05-01T10:00:00Z stdin F x")
    with pytest.raises(ValueError):
        parse_log_line(b"not-a-time stdout F x")


def test_options() -> None:
    now = parse_rfc3339_ns("2024-05-01T10:00:10Z")
    opts = parse_log_options({"tailLines": ["2"], "timestamps": ["true"], "follow": ["1"],
                              "sinceSeconds": ["9"]}, now)
    assert opts.tail_lines == 2 and opts.timestamps and opts.follow
    assert opts.since_ns == parse_rfc3339_ns("2024-05-01T10:00:01Z")
    with pytest.raises(LogOptionError):
        parse_log_options({"tailLines": ["-1"]}, now)
    with pytest.raises(LogOptionError):
        parse_log_options({"sinceSeconds": ["1"], "sinceTime": [T0]}, now)
    with pytest.raises(LogOptionError):
        parse_log_options({"limitBytes": ["0"]}, now)


def test_tail_offset(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(b"a\nb\nc\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        assert tail_offset(fd, size, 1) == 4
        assert tail_offset(fd, size, 2) == 2
        assert tail_offset(fd, size, 10) == 0
        assert tail_offset(fd, size, 0) == size
    finally:
        os.close(fd)


async def _read(path: Path, opts: LogOptions, **kw: object) -> bytes:
    out = bytearray()

    async def write(data: bytes) -> None:
        out.extend(data)

    await stream_log_file(str(path), opts, write, **kw)  # type: ignore[arg-type]
    return bytes(out)


async def test_stream_plain_tail_since_limit(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(CONTENT)
    assert await _read(path, LogOptions()) == b"line one\noops\npart-two\nlast\n"
    assert await _read(path, LogOptions(tail_lines=2)) == b"last\n"  # the garbage line counts
    assert await _read(path, LogOptions(tail_lines=3)) == b"two\nlast\n"
    since = parse_rfc3339_ns("2024-05-01T10:00:01Z")
    assert await _read(path, LogOptions(since_ns=since)) == b"oops\npart-two\nlast\n"
    assert await _read(path, LogOptions(limit_bytes=5)) == b"line "
    assert await _read(path, LogOptions(stream="stderr")) == b"oops\n"
    stamped = await _read(path, LogOptions(timestamps=True, tail_lines=1))
    assert stamped == b"2024-05-01T10:00:02.123456789Z last\n"


async def test_follow_until_container_stops(tmp_path: Path, autojump_clock: trio.abc.Clock) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(f"{T0} stdout F first\n".encode())
    running = True
    out = bytearray()

    async def write(data: bytes) -> None:
        out.extend(data)

    async def is_running() -> bool:
        return running

    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: stream_log_file(str(path), LogOptions(follow=True), write,
                                                   running=is_running))
        await trio.sleep(1)
        assert bytes(out) == b"first\n"
        with open(path, "ab") as f:
            f.write(f"{T1} stdout F second\n{T1} stdout F thi".encode())
        await trio.sleep(1)
        assert bytes(out) == b"first\nsecond\n"
        with open(path, "ab") as f:
            f.write(b"rd\n")
        running = False
    assert bytes(out) == b"first\nsecond\nthird\n"


def _pod(statuses: list[dict[str, object]]) -> dict[str, object]:
    return {"metadata": {"name": "p"}, "status": {"containerStatuses": statuses}}


def test_container_id_for_logs() -> None:
    running = _pod([{"name": "c", "containerID": "containerd://new", "state": {"running": {}},
                     "lastState": {"terminated": {"containerID": "containerd://old"}}}])
    assert container_id_for_logs(running, "c", False) == "containerd://new"
    assert container_id_for_logs(running, "c", True) == "containerd://old"
    waiting = _pod([{"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}])
    with pytest.raises(ContainerLogError, match='container "c" in pod "p" is waiting to start: ContainerCreating'):
        container_id_for_logs(waiting, "c", False)
    with pytest.raises(ContainerLogError, match='previous terminated container "c" in pod "p" not found'):
        container_id_for_logs(waiting, "c", True)
    crashing = _pod([{"name": "c", "containerID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                      "lastState": {"terminated": {"containerID": "containerd://old"}}}])
    assert container_id_for_logs(crashing, "c", False) == "containerd://old"
