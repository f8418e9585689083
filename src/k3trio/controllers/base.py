"""The controller base: informers from a shared factory, a work queue, workers, events.

Every controller in ``k3trio.controllers`` is shaped like upstream's ``replica_set.go``:

    informer events ──handlers──> queue.add(key)          (handlers only enqueue keys)
    run(): wait for its informers to sync ──> N workers ──> sync(key)

- ``sync(key)`` is the whole reconciliation of one object named ``namespace/name`` (or
  ``name``); it reads from listers, writes through the API and recomputes status from what it
  observed. It is injectable: tests call it directly, without workers.
- The queue de-duplicates keys and never hands one key to two workers at once; a ``sync`` that
  raises is retried with per-key exponential backoff (5 ms .. 1000 s), a successful one
  forgets the backoff. ``requeue_after`` schedules a later sync (progress deadlines,
  minReadySeconds).
- Events are written by one ``EventRecorder`` per controller, as component
  ``<name>-controller`` (``deployment-controller``, ``replicaset-controller``...).

Subclasses set ``name`` and ``workers``, request their informers in ``__init__`` with
``self.informer(...)`` and register handlers there; ``run`` waits for exactly those informers.
A subclass may override ``background`` to run extra tasks (periodic scans) next to the
workers.

Invariants: ``run`` reports ``started`` only after every informer it uses has synced, so no
``sync`` ever sees a partial cache; handlers never block; ``Cancelled`` always propagates.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
import trio

from ..client import (
    Client,
    DeletedFinalStateUnknown,
    EventRecorder,
    Lister,
    RateLimitingQueue,
    SharedInformer,
    SharedInformerFactory,
    object_key,
    run_workers,
)
from ..client.cache import IndexFunc
from ..client.resource import ResourceLike

__all__ = ["Controller", "ControllerContext", "Obj", "key_of", "meta_of"]

log = logging.getLogger("k3trio.controllers")

Obj = dict[str, Any]


def meta_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``obj.metadata`` (an empty mapping when missing)."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def key_of(obj: Mapping[str, Any] | DeletedFinalStateUnknown | str) -> str:
    """The queue key of an object, a tombstone or an already-made key."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, DeletedFinalStateUnknown):
        return obj.key
    return object_key(obj)


@attrs.define
class ControllerContext:
    """What the controller-manager gives each controller.

    Attributes:
        client: the API client of the controller-manager's identity.
        informers: the shared informer factory (one cache per resource for all controllers).
        recorder_host: the host written into recorded events' ``source.host``.
        workers: per-controller worker counts overriding the class default, by name.
        wall_clock: the wall-clock time (timestamps, minReadySeconds, deadlines); tests
            inject a fake.
    """

    client: Client
    informers: SharedInformerFactory
    recorder_host: str = ""
    workers: Mapping[str, int] = attrs.field(factory=dict)
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: per-controller clients (by controller name) acting as the controller's own service
    #: account; a controller without an entry writes with ``client``.
    clients: Mapping[str, Client] = attrs.field(factory=dict)

    def recorder_with(self, client: Client, component: str) -> EventRecorder:
        return EventRecorder(client, component, self.recorder_host)

    def recorder(self, component: str) -> EventRecorder:
        """A new event recorder for ``component`` (the controller runs it)."""
        return EventRecorder(self.client, component, self.recorder_host)


class Controller:
    """Base class of every controller. See the module docstring.

    Args:
        ctx: the shared client, informer factory and settings.
    """

    #: the controller's name as in ``kube-controller-manager --controllers`` (``deployment``).
    name: ClassVar[str] = ""
    #: concurrent workers (upstream ``--concurrent-*-syncs`` defaults to 5 for most).
    workers: ClassVar[int] = 5

    def __init__(self, ctx: ControllerContext) -> None:
        if not self.name:
            raise TypeError(f"{type(self).__name__} must set a name")
        self.ctx = ctx
        self.client = ctx.clients.get(self.name, ctx.client)
        self.informers = ctx.informers
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(self.name)
        self.recorder = ctx.recorder_with(self.client, f"{self.name}-controller")
        self._informers: list[SharedInformer] = []

    def now(self) -> datetime:
        """The wall-clock time (``ctx.wall_clock``)."""
        return self.ctx.wall_clock()

    # -- wiring (call from __init__) -----------------------------------------------------

    def informer(
        self,
        resource: ResourceLike,
        *,
        indexers: Mapping[str, IndexFunc] | None = None,
        on_add: Callable[[Obj], None] | None = None,
        on_update: Callable[[Obj, Obj], None] | None = None,
        on_delete: Callable[[Obj | DeletedFinalStateUnknown], None] | None = None,
        **selectors: Any,
    ) -> SharedInformer:
        """The shared informer for ``resource``, with this controller's handlers added.

        ``run`` waits for it to sync. ``selectors`` are passed to the factory
        (``namespace``, ``label_selector``, ``field_selector``).
        """
        inf = self.informers.informer(resource, indexers=indexers, **selectors)
        if on_add or on_update or on_delete:
            inf.add_event_handler(on_add, on_update, on_delete)
        if inf not in self._informers:
            self._informers.append(inf)
        return inf

    def lister(self, resource: ResourceLike, **selectors: Any) -> Lister:
        """The lister of a shared informer this controller uses."""
        return self.informer(resource, **selectors).lister

    # -- the queue -----------------------------------------------------------------------

    def enqueue(self, obj: Mapping[str, Any] | DeletedFinalStateUnknown | str) -> None:
        """Queue the key of ``obj`` (an object, a tombstone or a key) for ``sync``."""
        self.queue.add(key_of(obj))

    def enqueue_after(self, obj: Mapping[str, Any] | str, delay: float) -> None:
        """Queue the key of ``obj`` once ``delay`` seconds have passed."""
        self.queue.add_after(key_of(obj), delay)

    def enqueue_rate_limited(self, obj: Mapping[str, Any] | str) -> None:
        """Queue the key of ``obj`` after its backoff delay."""
        self.queue.add_rate_limited(key_of(obj))

    # -- the work ------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Reconcile the object named ``key``. Raise to have it retried with backoff."""
        raise NotImplementedError

    async def background(self, nursery: trio.Nursery) -> None:
        """Start extra tasks next to the workers (none by default)."""

    @property
    def has_synced(self) -> bool:
        return all(inf.has_synced for inf in self._informers)

    async def wait_for_sync(self) -> None:
        for inf in list(self._informers):
            await inf.wait_for_sync()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the recorder and the workers until cancelled (informers run in the factory)."""
        log.info("Starting %s controller", self.name)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.recorder.run)
                await self.wait_for_sync()
                log.info("Caches are synced for %s", self.name)
                workers = int(self.ctx.workers.get(self.name, self.workers))
                await nursery.start(run_workers, self.queue, workers, self.sync)
                await self.background(nursery)
                task_status.started()
        finally:
            log.info("Shutting down %s controller", self.name)
