"""SQLite-only behaviour: files and modes, persistence across reopen, crash safety."""

from __future__ import annotations

import os
import pathlib
import signal
import stat
import subprocess
import sys
import time

import pytest
import trio
import trio.testing

from k3trio.store import CompactedError, EventType, StoreError, open_backend

from .crash_writer import value_for


async def test_default_endpoint_creates_private_database(tmp_path: pathlib.Path) -> None:
    async with open_backend(None, tmp_path / "data") as store:
        await store.create("/a", b"1")
    db_dir = tmp_path / "data" / "server" / "db"
    assert (db_dir / "state.db").is_file()
    for path in (tmp_path / "data", tmp_path / "data" / "server", db_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((db_dir / "state.db").stat().st_mode) == 0o600
    async with open_backend("sqlite://", tmp_path / "data") as store:
        assert (await store.get("/a"))[1] is not None


async def test_relative_sqlite_path_is_rejected(tmp_path: pathlib.Path) -> None:
    with pytest.raises(StoreError):
        async with open_backend("sqlite://relative.db", tmp_path):
            pass


async def test_reopen_keeps_data_history_compaction_and_expiry(
    tmp_path: pathlib.Path, jump_clock: trio.testing.MockClock
) -> None:
    endpoint = f"sqlite://{tmp_path}/state.db"
    options = {"wall_clock": trio.current_time, "compact_interval": 0}
    async with open_backend(endpoint, tmp_path, **options) as store:
        await store.create("/p/a", b"a1")  # 1
        await store.update("/p/a", b"a2")  # 2
        await store.create("/p/b", b"b1")  # 3
        await store.delete("/p/b")  # 4
        await store.create("/p/ttl", b"t", ttl=10)  # 5
        await store.create("/p/c", b"c1")  # 6
        await store.compact(3)
    async with open_backend(endpoint, tmp_path, **options) as store:
        assert (store.current_revision, store.compact_revision) == (6, 3)
        assert [kv.key for kv in (await store.list("/p/")).kvs] == ["/p/a", "/p/c", "/p/ttl"]
        with pytest.raises(CompactedError):
            await store.get("/p/a", revision=2)
        assert (await store.get("/p/b", revision=3))[1] is not None
        async with store.watch("/p/", revision=3) as stream:
            events = []
            async for batch in stream:
                events += batch
                if len(events) >= 4:
                    break
        assert [(e.revision, e.type) for e in events] == [
            (3, EventType.CREATE), (4, EventType.DELETE), (5, EventType.CREATE),
            (6, EventType.CREATE)]
        assert events[1].prev_kv is not None and events[1].prev_kv.value == b"b1"
        kv = await store.create("/p/d", b"d")
        assert kv.mod_revision == 7
        await trio.sleep(11)
        assert (await store.get("/p/ttl"))[1] is None


def test_acknowledged_writes_survive_kill_9(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "crash.db"
    helper = pathlib.Path(__file__).with_name("crash_writer.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(helper), str(db), "64"],
        stdout=subprocess.PIPE, env=env, text=True,
    )
    assert proc.stdout is not None
    acked: dict[str, int] = {}
    deadline = time.monotonic() + 20
    try:
        while len(acked) < 3000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            rev, key = line.split()
            acked[key] = int(rev)
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
    for line in rest.splitlines():
        rev, key = line.split()
        acked[key] = int(rev)
    assert len(acked) >= 1000, "the writer acknowledged too few writes before the kill"

    async def check() -> None:
        async with open_backend(f"sqlite://{db}", tmp_path) as store:
            result = await store.list("/crash/")
            stored = {kv.key: kv for kv in result.kvs}
            for key, rev in acked.items():
                kv = stored.get(key)
                assert kv is not None, f"acknowledged write lost: {key} at {rev}"
                assert (kv.mod_revision, kv.value) == (rev, value_for(key))
            revisions = sorted(kv.mod_revision for kv in result.kvs)
            assert revisions == list(range(1, len(revisions) + 1))

    trio.run(check)


async def test_apsw_errors_become_store_errors(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(StoreError) as caught:
        async with open_backend(f"sqlite://{bad}", tmp_path):
            pass
    assert "sqlite" in str(caught.value)
    assert caught.value.__cause__ is not None
