"""Lease-based leader election (``coordination.k8s.io/v1`` Leases), client-go semantics.

A candidate reads the lease and decides (``next_record``, pure):

- no lease: create it holding it (``leaseTransitions`` 0);
- held by someone else whose record has not changed for ``leaseDurationSeconds`` *as seen
  by our own monotonic clock since we first observed that exact record*: take it over
  (``acquireTime`` now, ``leaseTransitions`` + 1). Timestamps written by other hosts are never
  compared with our wall clock, so clock skew cannot cause two leaders;
- held by someone else, not yet expired: wait;
- held by us: renew (``renewTime`` now, ``acquireTime``/transitions unchanged).

Writes are compare-and-swap on the lease's resourceVersion, so of two candidates racing for
an expired lease exactly one wins (the other gets ``Conflict``).

Timing (defaults as kube-controller-manager): lease 15 s, renew deadline 10 s, retry 2 s
(jittered by up to 20 % while acquiring). A leader that has not renewed successfully for the
renew deadline, or that sees another holder, has lost the lease: ``run_when_leader`` cancels
the leader's work at once, then competes again. On normal exit or cancellation a leader
releases the lease (empty holder, 1 s duration) so a successor need not wait for expiry.

MicroTime values are written as ``2026-11-24T21:00:00.000000Z``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs
import trio

from .api import Client
from .errors import AlreadyExists, ClientError, Conflict, NotFound
from .resource import LEASES

__all__ = [
    "ApiLeaseLock",
    "LeaderElectionConfig",
    "LeaderElectionRecord",
    "LeaderElector",
    "LeaseLock",
    "format_micro_time",
    "next_record",
    "parse_micro_time",
    "run_when_leader",
]

log = logging.getLogger("k3trio.client.leaderelection")

JITTER_FACTOR = 1.2
WallClock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def format_micro_time(dt: datetime) -> str:
    """RFC 3339 with exactly six fractional digits and ``Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str) -> datetime:
    """Parse a MicroTime or Time string (``Z`` or offset, 0-9 fractional digits)."""
    head, frac, zone = text, "", "+00:00"
    if text.endswith("Z"):
        head = text[:-1]
    elif len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        head, zone = text[:-6], text[-6:]
    if "." in head:
        head, frac = head.split(".", 1)
    micro = (frac + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{micro}{zone}").astimezone(UTC)


@attrs.frozen(slots=True)
class LeaderElectionRecord:
    """The election-relevant part of a Lease's spec."""

    holder_identity: str
    lease_duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    lease_transitions: int = 0

    @classmethod
    def from_lease(cls, lease: dict[str, Any]) -> LeaderElectionRecord:
        spec = lease.get("spec") or {}
        acquire = spec.get("acquireTime")
        renew = spec.get("renewTime")
        return cls(
            holder_identity=str(spec.get("holderIdentity") or ""),
            lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=parse_micro_time(acquire) if acquire else None,
            renew_time=parse_micro_time(renew) if renew else None,
            lease_transitions=int(spec.get("leaseTransitions") or 0),
        )

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holderIdentity": self.holder_identity,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "leaseTransitions": self.lease_transitions,
        }
        if self.acquire_time is not None:
            spec["acquireTime"] = format_micro_time(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = format_micro_time(self.renew_time)
        return spec


def next_record(
    current: LeaderElectionRecord | None,
    *,
    identity: str,
    lease_duration: int,
    observed_at: float,
    now: float,
    wall_now: datetime,
) -> LeaderElectionRecord | None:
    """The record to write to acquire or renew, or None when another holder is valid.

    Args:
        current: the lease's record (None: no lease yet).
        observed_at: monotonic time we first saw ``current`` unchanged.
        now: monotonic time now; ``wall_now``: wall time for the written timestamps.
    """
    if current is None:
        return LeaderElectionRecord(identity, lease_duration, wall_now, wall_now, 0)
    held_by_other = bool(current.holder_identity) and current.holder_identity != identity
    duration = current.lease_duration_seconds or lease_duration
    if held_by_other and observed_at + duration > now:
        return None
    if current.holder_identity == identity:
        return attrs.evolve(current, lease_duration_seconds=lease_duration, renew_time=wall_now)
    return LeaderElectionRecord(
        identity, lease_duration, wall_now, wall_now, current.lease_transitions + 1
    )


class LeaseLock(Protocol):
    """Storage of one election record with compare-and-swap."""

    async def get(self) -> tuple[LeaderElectionRecord, str] | None:
        """The record and its resourceVersion, or None if there is no lease."""
        ...

    async def create(self, record: LeaderElectionRecord) -> str:
        """Create the lease; raises ``AlreadyExists``. Returns the new resourceVersion."""
        ...

    async def update(self, record: LeaderElectionRecord, resource_version: str) -> str:
        """Replace the record if unchanged since ``resource_version``; raises ``Conflict``."""
        ...

    def describe(self) -> str: ...


@attrs.frozen(slots=True)
class ApiLeaseLock:
    """A Lease object in the API (``kube-system`` by default)."""

    client: Client
    name: str
    namespace: str = "kube-system"

    async def get(self) -> tuple[LeaderElectionRecord, str] | None:
        try:
            lease = await self.client.get(LEASES, self.name, namespace=self.namespace)
        except NotFound:
            return None
        rv = str((lease.get("metadata") or {}).get("resourceVersion") or "")
        return LeaderElectionRecord.from_lease(lease), rv

    def _body(self, record: LeaderElectionRecord, rv: str | None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if rv:
            meta["resourceVersion"] = rv
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": record.to_spec()}

    async def create(self, record: LeaderElectionRecord) -> str:
        lease = await self.client.create(LEASES, self._body(record, None),
                                         namespace=self.namespace)
        return str(lease["metadata"]["resourceVersion"])

    async def update(self, record: LeaderElectionRecord, resource_version: str) -> str:
        lease = await self.client.update(LEASES, self._body(record, resource_version),
                                         namespace=self.namespace)
        return str(lease["metadata"]["resourceVersion"])

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"


@attrs.frozen(slots=True)
class LeaderElectionConfig:
    lease_duration: int = 15
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __attrs_post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > JITTER_FACTOR * self.retry_period:
            raise ValueError("need lease_duration > renew_deadline > 1.2 * retry_period > 0")
        if self.retry_period <= 0:
            raise ValueError("retry_period must be positive")


class LeaderElector:
    """One candidate's view of one lease."""

    def __init__(
        self,
        lock: LeaseLock,
        identity: str,
        config: LeaderElectionConfig | None = None,
        *,
        wall_clock: WallClock = _utcnow,
        on_new_leader: Callable[[str], None] | None = None,
    ) -> None:
        if not identity:
            raise ValueError("leader election needs a non-empty identity")
        self.lock = lock
        self.identity = identity
        self.config = config or LeaderElectionConfig()
        self._wall = wall_clock
        self._on_new_leader = on_new_leader
        self._observed: LeaderElectionRecord | None = None
        self._observed_rv = ""
        self._observed_at = 0.0
        self._reported_leader: str | None = None

    @property
    def leader(self) -> str:
        """The holder we last observed ("" if none)."""
        return self._observed.holder_identity if self._observed else ""

    def is_leader(self) -> bool:
        return self.leader == self.identity

    def _observe(self, record: LeaderElectionRecord, rv: str) -> None:
        if record != self._observed:
            self._observed_at = trio.current_time()
        self._observed, self._observed_rv = record, rv
        if record.holder_identity != self._reported_leader:
            self._reported_leader = record.holder_identity
            if self._on_new_leader and record.holder_identity:
                self._on_new_leader(record.holder_identity)

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True when we hold the lease afterwards.

        Raises:
            ClientError: the lease could not be read or written (other than a lost race).
        """
        current = await self.lock.get()
        if current is not None:
            self._observe(*current)
        record = next_record(
            current[0] if current else None, identity=self.identity,
            lease_duration=self.config.lease_duration, observed_at=self._observed_at,
            now=trio.current_time(), wall_now=self._wall(),
        )
        if record is None:
            return False
        try:
            if current is None:
                rv = await self.lock.create(record)
            else:
                rv = await self.lock.update(record, current[1])
        except (AlreadyExists, Conflict):
            return False
        self._observe(record, rv)
        return True

    async def acquire(self) -> None:
        """Return once we hold the lease, trying every retry period (jittered)."""
        while True:
            try:
                if await self.try_acquire_or_renew():
                    log.info("%s: acquired lease %s", self.identity, self.lock.describe())
                    return
            except ClientError as exc:
                log.warning("%s: error acquiring lease %s: %s", self.identity,
                            self.lock.describe(), exc)
            period = self.config.retry_period
            await trio.sleep(period + random.random() * (JITTER_FACTOR - 1.0) * period)

    async def renew_until_lost(self) -> None:
        """Keep renewing; return when the lease is lost (deadline missed or taken)."""
        last_renew = trio.current_time()
        while True:
            await trio.sleep(self.config.retry_period)
            remaining = last_renew + self.config.renew_deadline - trio.current_time()
            renewed = False
            with trio.move_on_after(max(remaining, 0.0)):
                try:
                    renewed = await self.try_acquire_or_renew()
                except ClientError as exc:
                    log.warning("%s: error renewing lease %s: %s", self.identity,
                                self.lock.describe(), exc)
            if renewed:
                last_renew = trio.current_time()
                continue
            if self._observed is not None and self.leader not in ("", self.identity):
                log.info("%s: lease %s taken by %s", self.identity, self.lock.describe(),
                         self.leader)
                return
            if trio.current_time() - last_renew >= self.config.renew_deadline:
                log.info("%s: failed to renew lease %s within %.0fs", self.identity,
                         self.lock.describe(), self.config.renew_deadline)
                return

    async def release(self) -> bool:
        """Give the lease up if we hold it (best effort). True when released."""
        if not self.is_leader() or self._observed is None:
            return False
        now = self._wall()
        record = LeaderElectionRecord("", 1, now, now, self._observed.lease_transitions)
        try:
            rv = await self.lock.update(record, self._observed_rv)
        except ClientError as exc:
            log.warning("%s: failed to release lease %s: %s", self.identity,
                        self.lock.describe(), exc)
            return False
        self._observe(record, rv)
        return True


async def run_when_leader(
    lock: LeaseLock,
    identity: str,
    work: Callable[[], Awaitable[None]],
    *,
    config: LeaderElectionConfig | None = None,
    on_started_leading: Callable[[], None] | None = None,
    on_stopped_leading: Callable[[], None] | None = None,
    on_new_leader: Callable[[str], None] | None = None,
    reacquire: bool = True,
    wall_clock: WallClock = _utcnow,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``work`` only while holding the lease.

    ``work`` is cancelled as soon as the lease is lost; then (with ``reacquire``) the
    candidate competes again, otherwise this returns. When ``work`` returns, the lease is
    released and this returns. Cancellation releases the lease too.
    """
    elector = LeaderElector(lock, identity, config, wall_clock=wall_clock,
                            on_new_leader=on_new_leader)
    task_status.started()
    try:
        while True:
            await elector.acquire()
            if on_started_leading:
                on_started_leading()
            finished = False
            async with trio.open_nursery() as nursery:

                async def lead() -> None:
                    nonlocal finished
                    await work()
                    finished = True
                    nursery.cancel_scope.cancel()

                nursery.start_soon(lead)
                await elector.renew_until_lost()
                nursery.cancel_scope.cancel()
            if on_stopped_leading:
                on_stopped_leading()
            if finished or not reacquire:
                return
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(elector.config.retry_period):
            await elector.release()
