"""Watch fan-out: committed events pushed to every matching watcher, history replayed first.

The committer calls :meth:`WatchHub.publish` once per committed batch, on the Trio thread,
right after the transaction is durable. Each watcher owns a bounded memory channel; a
watcher whose channel is full is dropped and its stream raises ``WatchClosedError`` once
the events already buffered are consumed, so a slow consumer never slows the others nor
grows memory.

A watch from an older revision first replays history from the backend's log, then
switches to live events. The switch has no gap and no duplicate because the watcher is
subscribed *before* the replay boundary ``head`` is read, in one synchronous step (no
checkpoint in between): every event after ``head`` is published to the subscription
later, and live events at or below ``head`` (committed before but published after the
subscription) are dropped as already replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

import trio

from .errors import CompactedError, WatchClosedError
from .types import Event

#: Events read from the log per replay step.
REPLAY_PAGE = 500


class HistorySource(Protocol):
    """What a watch needs from its backend (synchronous reads on the Trio thread)."""

    @property
    def compact_revision(self) -> int: ...

    def read_head(self) -> int:
        """The newest revision visible to readers."""
        ...

    def read_history(self, prefix: str, start: int, end: int, limit: int) -> list[Event]:
        """Events under ``prefix`` with ``start <= revision <= end``, oldest first."""
        ...


class _Watcher:
    __slots__ = ("prefix", "send", "receive", "error")

    def __init__(self, prefix: str, buffer: int) -> None:
        self.prefix = prefix
        self.send, self.receive = trio.open_memory_channel[list[Event]](buffer)
        self.error: WatchClosedError | None = None


class WatchHub:
    """The set of live watchers, grouped by prefix so each batch is filtered once per prefix."""

    def __init__(self, buffer: int) -> None:
        self._buffer = buffer
        self._by_prefix: dict[str, set[_Watcher]] = {}
        self._closed: WatchClosedError | None = None

    def __len__(self) -> int:
        return sum(len(ws) for ws in self._by_prefix.values())

    def subscribe(self, prefix: str) -> _Watcher:
        if self._closed is not None:
            raise self._closed
        watcher = _Watcher(prefix, self._buffer)
        self._by_prefix.setdefault(prefix, set()).add(watcher)
        return watcher

    def unsubscribe(self, watcher: _Watcher) -> None:
        group = self._by_prefix.get(watcher.prefix)
        if group is not None:
            group.discard(watcher)
            if not group:
                del self._by_prefix[watcher.prefix]
        watcher.send.close()

    def publish(self, events: Sequence[Event]) -> None:
        """Deliver one committed batch to every watcher whose prefix matches."""
        if not events:
            return
        for prefix, group in list(self._by_prefix.items()):
            if prefix:
                matched = [e for e in events if e.kv.key.startswith(prefix)]
                if not matched:
                    continue
            else:
                matched = list(events)
            for watcher in list(group):
                try:
                    watcher.send.send_nowait(matched)
                except trio.WouldBlock:
                    self._drop(watcher, WatchClosedError("watcher fell behind; re-list"))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self._drop(watcher, WatchClosedError("watch closed"))

    def close(self, reason: str = "store closed") -> None:
        """Close every watcher; later subscriptions fail."""
        self._closed = WatchClosedError(reason)
        for group in list(self._by_prefix.values()):
            for watcher in list(group):
                self._drop(watcher, WatchClosedError(reason))

    def _drop(self, watcher: _Watcher, error: WatchClosedError) -> None:
        watcher.error = error
        self.unsubscribe(watcher)


class WatchStream:
    """Async iterator of event batches for one watch (see the module docstring)."""

    def __init__(
        self, source: HistorySource, hub: WatchHub, prefix: str, revision: int
    ) -> None:
        if revision and revision < source.compact_revision:
            raise CompactedError(revision, source.compact_revision)
        self._source = source
        self._hub = hub
        self._prefix = prefix
        self._watcher = hub.subscribe(prefix)
        head = source.read_head()
        start = revision if revision > 0 else head + 1
        self._replay_next = start
        self._replay_end = head
        self._floor = max(start - 1, head)

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> list[Event]:
        while self._replay_next <= self._replay_end:
            await trio.lowlevel.checkpoint()
            compacted = self._source.compact_revision
            if self._replay_next < compacted:
                raise CompactedError(self._replay_next, compacted)
            events = self._source.read_history(
                self._prefix, self._replay_next, self._replay_end, REPLAY_PAGE
            )
            if len(events) < REPLAY_PAGE:
                self._replay_next = self._replay_end + 1
            else:
                self._replay_next = events[-1].revision + 1
            if events:
                return events
        while True:
            try:
                batch = await self._watcher.receive.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                raise self._watcher.error or WatchClosedError("watch closed") from None
            floor = self._floor
            events = [e for e in batch if e.kv.mod_revision > floor]
            if events:
                self._floor = events[-1].kv.mod_revision
                return events

    def close(self) -> None:
        self._hub.unsubscribe(self._watcher)
        self._watcher.receive.close()


class WatchContext:
    """``async with backend.watch(...) as stream``: subscribes on entry, unsubscribes on exit."""

    def __init__(self, factory: Callable[[], WatchStream]) -> None:
        self._factory = factory
        self._stream: WatchStream | None = None

    async def __aenter__(self) -> WatchStream:
        await trio.lowlevel.checkpoint()
        self._stream = self._factory()
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
