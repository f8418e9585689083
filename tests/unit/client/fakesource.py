"""An in-memory list/watch source speaking the informer's ``ListWatch`` protocol.

It keeps objects with a revision counter and an event log, can be compacted (watches from
before the compaction revision then fail with ``Expired``, as the API server does) and can be
told to fail the next calls with a connection error.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from k3trio.client.errors import ConnectionFailed, Expired
from k3trio.client.watchstream import WatchEvent

Obj = dict[str, Any]


class FakeSource:
    def __init__(self) -> None:
        self.rev = 1
        self.objects: dict[str, Obj] = {}
        self.log: list[tuple[int, WatchEvent]] = []
        self.compacted = 0
        self.fail_lists = 0
        self.fail_watches = 0
        self.lists = 0
        self.watches: list[str] = []
        self._changed = trio.Event()
        self._close_watches = trio.Event()

    def _emit(self, kind: str, obj: Obj) -> None:
        self.log.append((self.rev, WatchEvent(kind, copy.deepcopy(obj))))
        self._changed.set()
        self._changed = trio.Event()

    def put(self, name: str, namespace: str = "ns", **extra: Any) -> Obj:
        self.rev += 1
        key = f"{namespace}/{name}"
        kind = "MODIFIED" if key in self.objects else "ADDED"
        obj = {"metadata": {"name": name, "namespace": namespace,
                            "resourceVersion": str(self.rev), **extra.pop("meta", {})}, **extra}
        self.objects[key] = obj
        self._emit(kind, obj)
        return obj

    def remove(self, name: str, namespace: str = "ns") -> None:
        self.rev += 1
        obj = self.objects.pop(f"{namespace}/{name}")
        obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self.rev)}}
        self._emit("DELETED", obj)

    def bookmark(self) -> None:
        self.rev += 1
        self._emit("BOOKMARK", {"metadata": {"resourceVersion": str(self.rev)}})

    def compact(self) -> None:
        """Forget the event log up to now and end open watches (they must resume)."""
        self.compacted = self.rev
        self.log.clear()
        self._close_watches.set()
        self._close_watches = trio.Event()

    async def list(self) -> tuple[list[Obj], str]:
        await trio.lowlevel.checkpoint()
        self.lists += 1
        if self.fail_lists:
            self.fail_lists -= 1
            raise ConnectionFailed("list refused")
        return [copy.deepcopy(o) for o in self.objects.values()], str(self.rev)

    @asynccontextmanager
    async def watch(self, resource_version: str, timeout_seconds: int) -> AsyncIterator[AsyncIterator[WatchEvent]]:
        self.watches.append(resource_version)
        if self.fail_watches:
            self.fail_watches -= 1
            raise ConnectionFailed("watch refused")
        if int(resource_version) < self.compacted:
            raise Expired(410, "Expired", f"too old resource version: {resource_version} ({self.compacted})")
        yield self._stream(int(resource_version), timeout_seconds)

    async def _stream(self, since: int, timeout_seconds: int) -> AsyncIterator[WatchEvent]:
        closed = self._close_watches
        with trio.move_on_after(timeout_seconds):
            while not closed.is_set():
                for rev, event in list(self.log):
                    if rev > since:
                        since = rev
                        yield event
                changed = self._changed
                async with trio.open_nursery() as nursery:
                    async def wait_close() -> None:
                        await closed.wait()
                        nursery.cancel_scope.cancel()
                    nursery.start_soon(wait_close)
                    await changed.wait()
                    nursery.cancel_scope.cancel()
