"""One supervisor for every component of a k3trio process.

A component is an ``async def run(ctx, *, task_status)`` that calls ``task_status.started(value)``
once it is ready and then runs until cancelled. The supervisor

- starts components in dependency order: a component waits until everything it ``requires``
  is ready, and receives their ``started`` values through ``ctx``;
- restarts a component that crashes (or returns when it should run forever) after an
  exponential backoff, capped, logging the traceback; a component that then stays up for
  ``stable_after`` seconds has its backoff reset. Crashes are counted and visible;
- restarts a component's dependents when the component restarts (they hold its old value);
- answers health questions (``health()``) for ``/readyz`` and ``/livez``;
- shuts down in reverse dependency order, each component getting what is left of one overall
  grace deadline before it is abandoned.

Invariants: at most one instance of each component runs at a time; a component is never
running while one of its requirements is not ready; ``Cancelled`` always propagates.

States (``ComponentState``):

    PENDING ──deps ready──> STARTING ──started()──> READY ──returns/crashes──> BACKOFF
       ^                      │ crash                  │ dependency restarted      │
       └──────────────────────┴────────────────────────┴───────────────────<──────┘
    any state ──shutdown──> STOPPED            oneshot: READY after a normal return = DONE
"""

from __future__ import annotations

import enum
import logging
import math
import traceback
from collections.abc import Awaitable, Iterable
from typing import Any, Protocol

import attrs
import trio

log = logging.getLogger("k3trio.supervisor")

__all__ = [
    "Component",
    "ComponentHealth",
    "ComponentState",
    "Context",
    "Supervisor",
]


class ComponentState(enum.Enum):
    PENDING = "pending"
    STARTING = "starting"
    READY = "ready"
    DONE = "done"
    BACKOFF = "backoff"
    STOPPED = "stopped"


class RunFn(Protocol):
    def __call__(
        self, ctx: Context, *, task_status: trio.TaskStatus[Any] = ...
    ) -> Awaitable[None]: ...


@attrs.frozen
class Component:
    """A supervised task.

    Attributes:
        name: unique name, used in logs and health checks.
        run: the component's body (see module docstring).
        requires: names of components that must be ready before this one starts.
        oneshot: the component finishes by returning (its return value is its value, and
            it need not call ``task_status.started``); it then counts as ready (DONE).
        critical: a failure of this component makes ``/livez`` fail while it crash-loops.
    """

    name: str
    run: RunFn
    requires: tuple[str, ...] = ()
    oneshot: bool = False
    critical: bool = True


@attrs.frozen
class ComponentHealth:
    """A snapshot of one component, as ``/readyz?verbose`` shows it."""

    name: str
    state: ComponentState
    ready: bool
    restarts: int
    consecutive_failures: int
    last_error: str | None

    @property
    def crash_looping(self) -> bool:
        return self.consecutive_failures >= 3


class Context:
    """What a running component sees: its requirements' values and the supervisor."""

    def __init__(self, supervisor: Supervisor, name: str, values: dict[str, Any]) -> None:
        self.supervisor = supervisor
        self.name = name
        self._values = values

    def get(self, name: str) -> Any:
        """The value that required component ``name`` passed to ``task_status.started``."""
        try:
            return self._values[name]
        except KeyError:
            raise LookupError(f"component {self.name!r} does not require {name!r}") from None


@attrs.define
class _Slot:
    component: Component
    state: ComponentState = ComponentState.PENDING
    value: Any = None
    restarts: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    ready_event: trio.Event = attrs.Factory(trio.Event)
    generation: int = 0
    scope: trio.CancelScope | None = None
    restart_requested: bool = False
    finished: trio.Event = attrs.Factory(trio.Event)

    @property
    def ready(self) -> bool:
        return self.state in (ComponentState.READY, ComponentState.DONE)


class Supervisor:
    """Runs components; see the module docstring.

    Args:
        components: the components, in any order (dependencies decide the start order).
        backoff_initial: first restart delay in seconds.
        backoff_max: cap of the restart delay.
        stable_after: seconds of uptime after which a component's backoff resets.
    """

    def __init__(
        self,
        components: Iterable[Component],
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
    ) -> None:
        self._slots: dict[str, _Slot] = {}
        for comp in components:
            if comp.name in self._slots:
                raise ValueError(f"duplicate component {comp.name!r}")
            self._slots[comp.name] = _Slot(comp)
        self._order = _dependency_order([s.component for s in self._slots.values()])
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self._shutting_down = False
        self._nursery: trio.Nursery | None = None
        self._all_ready = trio.Event()

    # -- health ---------------------------------------------------------------------------

    def health(self) -> list[ComponentHealth]:
        """Snapshots of every component in start order."""
        return [
            ComponentHealth(
                name=s.component.name,
                state=s.state,
                ready=s.ready,
                restarts=s.restarts,
                consecutive_failures=s.consecutive_failures,
                last_error=s.last_error,
            )
            for s in (self._slots[n] for n in self._order)
        ]

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def is_ready(self) -> bool:
        return all(s.ready for s in self._slots.values())

    async def wait_ready(self, *names: str) -> None:
        """Wait until the named components (default: all) are ready."""
        for name in names or self._order:
            slot = self._slots[name]
            while not slot.ready:
                await slot.ready_event.wait()

    def restart(self, name: str) -> None:
        """Ask a running component to restart (not counted as a crash)."""
        slot = self._slots[name]
        if slot.scope is not None:
            slot.restart_requested = True
            slot.scope.cancel()

    # -- running --------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED) -> None:
        """Run every component until cancelled or ``shutdown`` completes."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for name in self._order:
                nursery.start_soon(self._keep_running, self._slots[name], name=f"component:{name}")
            task_status.started(self)

    async def shutdown(self, grace: float = 10.0) -> None:
        """Stop components in reverse dependency order within ``grace`` seconds in all."""
        self._shutting_down = True
        deadline = trio.current_time() + grace
        for name in reversed(self._order):
            slot = self._slots[name]
            if slot.scope is not None:
                slot.scope.cancel()
            with trio.move_on_at(deadline):
                await slot.finished.wait()
            if not slot.finished.is_set():
                log.warning("component %s did not stop within the grace period", name)
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _keep_running(self, slot: _Slot) -> None:
        comp = slot.component
        delay = self.backoff_initial
        try:
            while not self._shutting_down:
                values = await self._wait_requirements(comp)
                started_at = trio.current_time()
                failed = await self._run_once(slot, values)
                if self._shutting_down:
                    break
                if slot.state is ComponentState.DONE:
                    return
                if slot.restart_requested:
                    slot.restart_requested = False
                    slot.state = ComponentState.PENDING
                    continue
                if trio.current_time() - started_at >= self.stable_after:
                    delay = self.backoff_initial
                slot.restarts += 1
                slot.consecutive_failures += 1
                slot.state = ComponentState.BACKOFF
                log.warning(
                    "component %s %s; restarting in %.1fs (restart %d)",
                    comp.name,
                    "crashed" if failed else "exited unexpectedly",
                    delay,
                    slot.restarts,
                )
                await trio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
        finally:
            if slot.state is not ComponentState.DONE:
                slot.state = ComponentState.STOPPED
            slot.finished.set()

    async def _wait_requirements(self, comp: Component) -> dict[str, Any]:
        while True:
            for name in comp.requires:
                await self.wait_ready(name)
            # A requirement may have restarted while we waited on another one.
            if all(self._slots[n].ready for n in comp.requires):
                return {n: self._slots[n].value for n in comp.requires}

    async def _run_once(self, slot: _Slot, values: dict[str, Any]) -> bool:
        """Run the component once; True if it crashed."""
        comp = slot.component
        ctx = Context(self, comp.name, values)
        slot.state = ComponentState.STARTING
        crashed = False
        with trio.CancelScope() as scope:
            slot.scope = scope
            try:
                if comp.oneshot:
                    value = await comp.run(ctx)
                    self._mark_ready(slot, value)
                    slot.state = ComponentState.DONE
                    slot.consecutive_failures = 0
                    slot.scope = None
                    return False
                async with trio.open_nursery() as nursery:
                    value = await nursery.start(_call_run, comp.run, ctx)
                    self._mark_ready(slot, value)
            except Exception as exc:  # a crash: log it and let the caller back off
                crashed = True
                slot.last_error = _one_line(exc)
                log.error(
                    "component %s crashed:\n%s",
                    comp.name,
                    "".join(traceback.format_exception(exc)).rstrip(),
                )
        slot.scope = None
        was_ready = slot.ready
        slot.state = ComponentState.PENDING
        slot.value = None
        slot.ready_event = trio.Event()
        if was_ready:
            self._restart_dependents(comp.name)
        return crashed

    def _mark_ready(self, slot: _Slot, value: Any) -> None:
        slot.value = value
        slot.state = ComponentState.READY
        slot.generation += 1
        slot.ready_event.set()
        log.info("component %s is ready", slot.component.name)
        # Readiness resets the crash-loop count only once the component has proven stable;
        # use a timer task so that a component that is ready and crashes at once still counts.
        if self._nursery is not None:
            self._nursery.start_soon(self._reset_failures_when_stable, slot, slot.generation)

    async def _reset_failures_when_stable(self, slot: _Slot, generation: int) -> None:
        await trio.sleep(self.stable_after)
        if slot.generation == generation and slot.ready:
            slot.consecutive_failures = 0

    def _restart_dependents(self, name: str) -> None:
        for other in self._slots.values():
            if name in other.component.requires and other.scope is not None:
                log.info("restarting %s because %s restarted", other.component.name, name)
                other.restart_requested = True
                other.scope.cancel()


async def _call_run(run: RunFn, ctx: Context, *, task_status: trio.TaskStatus[Any]) -> None:
    await run(ctx, task_status=task_status)


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _one_line(exc.exceptions[0])
    return text.splitlines()[0] if text else type(exc).__name__


def _dependency_order(components: list[Component]) -> list[str]:
    """Topological order (stable: ties keep the given order). Raises ValueError on cycles."""
    names = [c.name for c in components]
    known = set(names)
    by_name = {c.name: c for c in components}
    for comp in components:
        for req in comp.requires:
            if req not in known:
                raise ValueError(f"component {comp.name!r} requires unknown {req!r}")
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ValueError("dependency cycle: " + " -> ".join((*path, name)))
        state[name] = 1
        for req in by_name[name].requires:
            visit(req, (*path, name))
        state[name] = 2
        order.append(name)

    for name in names:
        visit(name, ())
    return order


def backoff_delays(initial: float, cap: float, count: int) -> list[float]:
    """The first ``count`` restart delays: ``initial`` doubling up to ``cap``."""
    return [min(initial * math.pow(2, i), cap) for i in range(count)]

