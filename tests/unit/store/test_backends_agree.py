"""Property test: random histories give identical answers on the memory and SQLite backends.

The memory backend is the simple model; SQLite (group commit, current-state table,
historical queries over the log, compaction in windows) must agree with it on every
result, every error, every read at every revision and every replayed event.
"""

from __future__ import annotations

import pathlib
import tempfile

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k3trio.store import Backend, StoreError, open_backend
from k3trio.store.core import BackendBase
from k3trio.store.ops import Op, OpKind

KEYS = ["/a", "/b/1", "/b/2", "/c"]

ops_strategy = st.lists(
    st.builds(
        Op,
        kind=st.sampled_from(list(OpKind)),
        key=st.sampled_from(KEYS),
        value=st.binary(max_size=8),
        revision=st.integers(min_value=0, max_value=6),
    ),
    min_size=1,
    max_size=30,
)


def describe(result: object) -> object:
    if isinstance(result, StoreError):
        return (type(result).__name__, str(result))
    return result


async def transcript(backend: BackendBase, batches: list[list[Op]], compact_at: int) -> list[object]:
    out: list[object] = []
    for batch in batches:
        out.append([describe(r) for r in await backend.submit(batch)])
    head = backend.current_revision
    if 0 < compact_at <= head:
        await backend.compact(compact_at)
    for rev in range(max(1, backend.compact_revision), head + 1):
        out.append(await backend.list("", revision=rev))
        for key in KEYS:
            out.append((await backend.get(key, revision=rev))[1])
        page = await backend.list("/b/", revision=rev, limit=1)
        out.append((page.kvs, page.more, page.remaining))
        out.append(backend.read_history("", rev, head, 1000))
    out.append(await backend.list(""))
    out.append(await backend.count("/b/"))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(ops_strategy, min_size=1, max_size=4), compact_at=st.integers(0, 40))
def test_memory_and_sqlite_agree(batches: list[list[Op]], compact_at: int) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            results = []
            for endpoint in ("memory://", f"sqlite://{tmp}/s.db"):
                async with open_backend(endpoint, pathlib.Path(tmp)) as backend:
                    assert isinstance(backend, Backend)
                    results.append(await transcript(backend, batches, compact_at))
            assert results[0] == results[1]

    trio.run(run)
