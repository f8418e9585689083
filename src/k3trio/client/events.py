"""Recording core/v1 Events the way client-go's recorder does: aggregated, de-duplicated,
rate-limited and never blocking the caller.

Pipeline for each ``EventRecorder.event(...)`` call:

1. the event is built (name ``<object name>.<unix nanoseconds in hex>``, namespace of the
   object or ``default``, ``source``/``reportingComponent``/``reportingInstance``, count 1)
   and put on a bounded queue with ``send_nowait``; when the queue is full it is dropped
   and logged, so callers never wait;
2. the background ``run`` task passes it through ``EventCorrelator`` (pure):
   - **spam filter**: one token bucket per source + involved object (25 burst, refilled at
     one token per 5 minutes); no token, no event;
   - **aggregation**: events differing only in message are "similar"; once 10 distinct
     messages were seen for the same source/object/type/reason within 10 minutes, further
     ones are folded into one event with message ``(combined from similar events): <msg>``;
   - **de-duplication**: an event identical (source, object, type, reason, message) to one
     recorded within 10 minutes becomes a patch of that event's ``count`` and
     ``lastTimestamp`` instead of a new object;
3. the write happens (POST, or strategic-merge PATCH; a patch of a vanished event falls
   back to a create); transport errors and 5xx are retried a few times with backoff.

Invariants: correlation state is only changed by the single ``run`` task; caches are LRUs
bounded to 4096 entries; recording works without a running ``run`` (events just queue up,
then drop when the queue is full).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import attrs
import trio

from .api import Client
from .errors import ApiError, ConnectionFailed, NotFound, ServerError
from .ratelimit import TokenBucket
from .resource import EVENTS

__all__ = [
    "EventCorrelator",
    "EventRecorder",
    "Outcome",
    "object_reference",
]

log = logging.getLogger("k3trio.client.events")

NORMAL = "Normal"
WARNING = "Warning"
LRU_SIZE = 4096
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_WINDOW = 600.0
COMBINED_PREFIX = "(combined from similar events): "
WRITE_ATTEMPTS = 5

Obj = dict[str, Any]
K = TypeVar("K")
V = TypeVar("V")


class _LRU(Generic[K, V]):
    def __init__(self, size: int = LRU_SIZE) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)


def format_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_reference(obj: Mapping[str, Any], field_path: str = "") -> Obj:
    """The ``ObjectReference`` of an object (or a reference dict passed through)."""
    if "metadata" not in obj and "name" in obj:
        return dict(obj)
    meta = obj.get("metadata") or {}
    ref: Obj = {
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if field_path:
        ref["fieldPath"] = field_path
    return {k: v for k, v in ref.items() if v}


def _ref_key(event: Mapping[str, Any]) -> tuple[str, ...]:
    src = event.get("source") or {}
    ref = event.get("involvedObject") or {}
    return (
        src.get("component", ""), src.get("host", ""), ref.get("kind", ""),
        ref.get("namespace", ""), ref.get("name", ""), ref.get("uid", ""),
        ref.get("apiVersion", ""),
    )


def spam_key(event: Mapping[str, Any]) -> tuple[str, ...]:
    return _ref_key(event)


def aggregate_key(event: Mapping[str, Any]) -> tuple[str, ...]:
    return (*_ref_key(event), event.get("type", ""), event.get("reason", ""),
            event.get("reportingComponent", ""), event.get("reportingInstance", ""))


def event_key(event: Mapping[str, Any]) -> tuple[str, ...]:
    ref = event.get("involvedObject") or {}
    return (*_ref_key(event), ref.get("fieldPath", ""), event.get("type", ""),
            event.get("reason", ""), event.get("message", ""))


@attrs.define
class _Aggregate:
    messages: set[str]
    last_seen: float


@attrs.define
class _Logged:
    name: str
    count: int
    first_timestamp: str
    last_seen: float


@attrs.frozen(slots=True)
class Outcome:
    """What to write: ``action`` is ``create``, ``patch`` or ``skip``.

    For ``patch``, ``patch`` is the strategic merge patch and ``event`` the full event (used
    if the patched event vanished and must be created again).
    """

    action: str
    event: Obj
    patch: Obj | None = None
    key: tuple[str, ...] = ()


class EventCorrelator:
    """Spam filtering, aggregation and de-duplication; pure apart from its clocks."""

    def __init__(self, *, clock: Callable[[], float] = trio.current_time) -> None:
        self._clock = clock
        self._spam: _LRU[tuple[str, ...], TokenBucket] = _LRU()
        self._aggregates: _LRU[tuple[str, ...], _Aggregate] = _LRU()
        self._logged: _LRU[tuple[str, ...], _Logged] = _LRU()

    def correlate(self, event: Obj) -> Outcome:
        now = self._clock()
        bucket = self._spam.get(spam_key(event))
        if bucket is None:
            bucket = TokenBucket(SPAM_QPS, SPAM_BURST, clock=self._clock)
            self._spam.put(spam_key(event), bucket)
        if not bucket.try_take():
            return Outcome("skip", event)
        event, key = self._aggregate(event, now)
        logged = self._logged.get(key)
        if logged is None or now - logged.last_seen > AGGREGATE_WINDOW:
            return Outcome("create", event, None, key)
        count = logged.count + 1
        merged = {
            **event,
            "metadata": {**event["metadata"], "name": logged.name},
            "count": count,
            "firstTimestamp": logged.first_timestamp,
        }
        patch = {"count": count, "lastTimestamp": event["lastTimestamp"],
                 "message": event["message"]}
        return Outcome("patch", merged, patch, key)

    def _aggregate(self, event: Obj, now: float) -> tuple[Obj, tuple[str, ...]]:
        """The event (combined once there are many similar ones) and its de-dup key."""
        key = aggregate_key(event)
        record = self._aggregates.get(key)
        if record is None or now - record.last_seen > AGGREGATE_WINDOW:
            record = _Aggregate(set(), now)
            self._aggregates.put(key, record)
        record.last_seen = now
        record.messages.add(str(event.get("message", "")))
        if len(record.messages) < AGGREGATE_MAX_EVENTS:
            return event, event_key(event)
        combined = {**event, "message": COMBINED_PREFIX + str(event.get("message", ""))}
        return combined, ("combined", *key)

    def written(self, outcome: Outcome, event: Obj) -> None:
        """Remember an event the server stored for ``outcome``, for later de-duplication."""
        self._logged.put(outcome.key, _Logged(
            name=str(event["metadata"]["name"]), count=int(event.get("count") or 1),
            first_timestamp=str(event.get("firstTimestamp") or ""), last_seen=self._clock(),
        ))


class EventRecorder:
    """Records Events for one component on one host.

    ``event``/``eventf`` never block; run ``await nursery.start(recorder.run)`` to write them.
    """

    def __init__(
        self,
        client: Client,
        component: str,
        host: str = "",
        *,
        queue_size: int = 1000,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        correlator: EventCorrelator | None = None,
    ) -> None:
        self.client = client
        self.component = component
        self.host = host
        self._wall = wall_clock
        self.correlator = correlator or EventCorrelator()
        self._send, self._receive = trio.open_memory_channel[Obj](queue_size)
        self.dropped = 0

    def make_event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> Obj:
        """The Event object for one occurrence (pure apart from the clock)."""
        ref = object_reference(obj)
        now = self._wall()
        stamp = format_time(now)
        name = f"{ref.get('name', '')}.{time.time_ns():x}"
        source: Obj = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ref.get("namespace") or "default"},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        """Record an event about ``obj`` (an object or an ObjectReference dict).

        ``type`` is ``Normal`` or ``Warning``. Never blocks; drops when the queue is full.
        """
        if type not in (NORMAL, WARNING):
            log.error("unsupported event type %r (reason %s)", type, reason)
            return
        try:
            self._send.send_nowait(self.make_event(obj, type, reason, message))
        except trio.WouldBlock:
            self.dropped += 1
            log.warning("event queue full; dropping event %s: %s", reason, message)

    def eventf(self, obj: Mapping[str, Any], type: str, reason: str, fmt: str, *args: Any) -> None:
        self.event(obj, type, reason, fmt % args if args else fmt)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write queued events until cancelled."""
        task_status.started()
        async for event in self._receive:
            outcome = self.correlator.correlate(event)
            if outcome.action == "skip":
                continue
            stored = await self._write(outcome)
            if stored is not None:
                self.correlator.written(outcome, stored)

    async def _write(self, outcome: Outcome) -> Obj | None:
        event = outcome.event
        ns = str(event["metadata"]["namespace"])
        delay = 0.5
        for attempt in range(WRITE_ATTEMPTS):
            try:
                if outcome.action == "patch" and outcome.patch is not None:
                    try:
                        return await self.client.patch(
                            EVENTS, str(event["metadata"]["name"]), outcome.patch,
                            patch_type="strategic", namespace=ns,
                        )
                    except NotFound:
                        outcome = Outcome("create", {**event, "metadata": {
                            k: v for k, v in event["metadata"].items() if k != "resourceVersion"
                        }}, None, outcome.key)
                return await self.client.create(EVENTS, outcome.event, namespace=ns)
            except (ConnectionFailed, ServerError) as exc:
                if attempt + 1 == WRITE_ATTEMPTS:
                    log.warning("giving up writing event %s: %s", event.get("reason"), exc)
                    return None
                await trio.sleep(delay)
                delay *= 2
            except ApiError as exc:
                log.warning("server rejected event %s (%s); not retrying",
                            event.get("reason"), exc)
                return None
        return None
