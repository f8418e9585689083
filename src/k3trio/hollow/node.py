"""One hollow node: a kubelet without containers, on the shared node code.

``HollowNode`` registers its Node (``agent.node.registration``), renews its Lease
(``agent.node.lease``), posts its status (``agent.node.status``; Ready once the Node has a
podCIDR, as a kubelet waits for its CNI network) and carries out the steps of
``hollow.pods.decide`` for the pods bound to it, writing statuses shaped by
``agent.node.podstatus``. Pod IPs come from the node's podCIDR (``PodIPAllocator``);
``hostNetwork`` pods get the node's InternalIP. It does not watch anything itself:
``HollowCluster`` feeds it Node updates and pod keys from informers shared by all nodes.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import trio

from ..agent.node import (
    NETWORK_NOT_READY,
    CidrExhausted,
    NodeConfig,
    NodeLease,
    NodeStatusReporter,
    PodIPAllocator,
    build_node,
    pod_conditions,
    register_node,
    running_container_status,
    terminated_container_status,
)
from ..agent.node.podstatus import normalize_image, terminated_state
from ..api.meta import format_time, parse_time
from ..api.quantity import QuantityError, parse_quantity
from ..client import Client, Conflict, EventRecorder, NotFound
from ..client.resource import PODS
from .pods import Completion, PodRecord, Step, admit, completion_of, decide, pod_requests

__all__ = ["HollowNode", "fake_container_id", "fake_image_id"]

log = logging.getLogger("k3trio.hollow")

Obj = dict[str, Any]

RESTART_BACKOFF_START = 10.0
RESTART_BACKOFF_CAP = 300.0


def fake_container_id() -> str:
    return f"containerd://{secrets.token_hex(32)}"


def fake_image_id(image: str) -> str:
    """A stable ``repo@sha256:...`` for an image reference."""
    ref = normalize_image(image)
    repo = ref.split("@", 1)[0].rsplit(":", 1)[0] if "/" in ref else ref
    return f"{repo}@sha256:{hashlib.sha256(ref.encode()).hexdigest()}"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


class HollowNode:
    """One simulated kubelet.

    Args:
        client: the API client (shared by all hollow nodes of a process).
        config: the node's description.
        recorder: where node events go.
        wall_clock: time written into statuses.
    """

    def __init__(
        self,
        client: Client,
        config: NodeConfig,
        *,
        recorder: EventRecorder | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        status_update_period: float = 10.0,
        lease_duration: int = 40,
    ) -> None:
        self.client = client
        self.config = config
        self.name = config.name
        self.recorder = recorder
        self._wall = wall_clock
        self.node: Obj | None = None
        self.ips: PodIPAllocator | None = None
        self.records: dict[str, PodRecord] = {}
        self.reporter = NodeStatusReporter(
            client, config, readiness=self._readiness, recorder=recorder,
            update_period=status_update_period, wall_clock=wall_clock,
        )
        self.lease = NodeLease(client, self.name, node_uid=self.uid, duration=lease_duration,
                               wall_clock=wall_clock)
        self.allocatable = self._allocatable()

    # -- node -------------------------------------------------------------------------

    def uid(self) -> str | None:
        return str(_meta(self.node).get("uid") or "") or None if self.node else None

    @property
    def pod_cidr(self) -> str | None:
        if self.node is None:
            return None
        return _spec(self.node).get("podCIDR") or None

    @property
    def network_ready(self) -> bool:
        return self.ips is not None

    def _readiness(self) -> str | None:
        return None if self.network_ready else NETWORK_NOT_READY

    def _allocatable(self) -> dict[str, int]:
        out: dict[str, int] = {"pods": self.config.pods}
        for name, value in (("cpu", self.config.cpu), ("memory", self.config.memory),
                            ("ephemeral-storage", self.config.ephemeral_storage)):
            try:
                q = parse_quantity(value)
            except QuantityError:
                continue
            out[name] = q.milli_value() if name == "cpu" else q.value()
        return out

    def observe_node(self, node: Obj) -> bool:
        """Take a newer Node object; True when the pod network just became ready."""
        self.node = node
        cidr = self.pod_cidr
        if cidr and (self.ips is None or str(self.ips.network) != cidr):
            self.ips = PodIPAllocator(cidr)
            for rec in self.records.values():
                if rec.ip and not rec.terminated:
                    self.ips.reserve(rec.uid, rec.ip)
            self.reporter.poke()
            return True
        return False

    async def register(self) -> Obj:
        """Register (or adopt) the Node.

        Raises:
            k3trio.client.ApiError, ConnectionFailed: the API refused or is unreachable.
        """
        node = build_node(self.config, ready=False, not_ready_message=NETWORK_NOT_READY,
                          now=self._wall())
        stored = await register_node(self.client, node)
        self.observe_node(stored)
        if self.recorder is not None:
            ref = {"kind": "Node", "name": self.name, "uid": self.name}
            self.recorder.event(ref, "Normal", "Starting", "Starting kubelet.")
        return stored

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Renew the Lease and post the status until cancelled (register first)."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.lease.run)
            await nursery.start(self.reporter.run, self.node)
            task_status.started()

    # -- pods -------------------------------------------------------------------------

    def used(self) -> dict[str, int]:
        used: dict[str, int] = {}
        for rec in self.records.values():
            if rec.terminated:
                continue
            for name, amount in rec.requests.items():
                used[name] = used.get(name, 0) + amount
        return used

    def forget(self, key: str) -> None:
        rec = self.records.pop(key, None)
        if rec is not None and self.ips is not None:
            self.ips.release(rec.uid)

    async def sync_pod(self, key: str, pod: Obj | None) -> float | None:
        """Carry out the next step for one pod; return seconds until it is due again.

        Raises:
            k3trio.client.ApiError, ConnectionFailed: a write failed (the caller retries).
        """
        record = self.records.get(key)
        mine = pod is not None and _spec(pod).get("nodeName") == self.name
        step, wait = decide(pod, record, mine=mine, network_ready=self.network_ready,
                            now_mono=trio.current_time())
        if record is not None and pod is not None and record.uid != _meta(pod).get("uid"):
            self.forget(key)
            record = None
        if step is Step.FORGET:
            self.forget(key)
            return None
        assert pod is not None
        if step is Step.RELEASE:
            if record is not None and self.ips is not None:
                self.ips.release(record.uid)
            return None
        if step in (Step.NOTHING, Step.WAIT_NETWORK):
            return None
        if step is Step.WAIT:
            return wait
        if step is Step.START:
            return await self._start(key, pod)
        if step is Step.ADOPT:
            return self._adopt(key, pod)
        if step is Step.EXIT:
            assert record is not None
            return await self._exit(pod, record)
        if step is Step.KILL:
            record = record or self._adopt_record(key, pod)
            await self._kill(pod, record)
            await self._delete(pod)
            self.forget(key)
            return None
        if step is Step.DELETE:
            await self._delete(pod)
            self.forget(key)
            return None
        raise AssertionError(step)

    async def _write_status(self, pod: Mapping[str, Any], status: Obj) -> None:
        meta = _meta(pod)
        if meta.get("generation") is not None:
            status["observedGeneration"] = meta["generation"]
        await self.client.patch(
            PODS, str(meta["name"]), {"metadata": {"uid": meta["uid"]}, "status": status},
            patch_type="strategic", namespace=str(meta["namespace"]), subresource="status",
        )

    def _host_ips(self) -> list[Obj]:
        return [{"ip": self.config.internal_ip}]

    async def _start(self, key: str, pod: Obj) -> float | None:
        meta = _meta(pod)
        uid = str(meta.get("uid"))
        requests = pod_requests(pod)
        rejection = admit(requests, self.used(), self.allocatable)
        now = self._wall()
        if rejection is not None:
            reason, message = rejection
            self.records[key] = PodRecord(uid, self.name, "", {}, now, trio.current_time(),
                                          Completion(None), terminated=True)
            await self._write_status(pod, {"phase": "Failed", "reason": reason,
                                           "message": message, "startTime": format_time(now)})
            return None
        if _spec(pod).get("hostNetwork"):
            ip = self.config.internal_ip
        else:
            assert self.ips is not None
            try:
                ip = self.ips.allocate(uid)
            except CidrExhausted as exc:
                log.warning("%s: cannot start pod %s: %s", self.name, key, exc)
                return 5.0
        containers = _spec(pod).get("containers") or []
        record = PodRecord(
            uid, self.name, ip, {c["name"]: fake_container_id() for c in containers},
            now, trio.current_time(), completion_of(pod), requests=requests,
        )
        self.records[key] = record
        try:
            await self._write_status(pod, self._running_status(pod, record))
        except BaseException:
            self.forget(key)
            raise
        after = record.completion.after
        return after if after is not None else None

    def _running_status(self, pod: Obj, rec: PodRecord) -> Obj:
        now = self._wall()
        spec = _spec(pod)
        statuses = [
            running_container_status(
                pod, c, container_id=rec.container_ids[c["name"]],
                image_id=fake_image_id(str(c.get("image") or "")),
                started_at=rec.started_at, restart_count=rec.restart_count,
                last_state=rec.last_state,
            )
            for c in spec.get("containers") or []
        ]
        status: Obj = {
            "phase": "Running",
            "conditions": pod_conditions(pod, phase="Running", container_statuses=statuses,
                                         now=now),
            "hostIP": self.config.internal_ip,
            "hostIPs": self._host_ips(),
            "podIP": rec.ip,
            "podIPs": [{"ip": rec.ip}],
            "startTime": format_time(rec.started_at),
            "containerStatuses": statuses,
        }
        inits = self._init_statuses(pod, rec)
        if inits:
            status["initContainerStatuses"] = inits
        return status

    def _init_statuses(self, pod: Obj, rec: PodRecord) -> list[Obj]:
        out: list[Obj] = []
        for c in _spec(pod).get("initContainers") or []:
            cid = rec.container_ids.setdefault(c["name"], fake_container_id())
            image_id = fake_image_id(str(c.get("image") or ""))
            if c.get("restartPolicy") == "Always":
                out.append(running_container_status(pod, c, container_id=cid, image_id=image_id,
                                                    started_at=rec.started_at))
            else:
                out.append(terminated_container_status(
                    pod, c, container_id=cid, image_id=image_id, exit_code=0,
                    started_at=rec.started_at, finished_at=rec.started_at, ready=True))
        return out

    def _adopt_record(self, key: str, pod: Obj) -> PodRecord:
        status = pod.get("status") or {}
        uid = str(_meta(pod).get("uid"))
        now_wall = self._wall()
        try:
            started = parse_time(str(status.get("startTime")))
        except ValueError:
            started = now_wall
        ids = {str(cs.get("name")): str(cs.get("containerID") or fake_container_id())
               for cs in status.get("containerStatuses") or []}
        for c in _spec(pod).get("containers") or []:
            ids.setdefault(c["name"], fake_container_id())
        restarts = max([int(cs.get("restartCount") or 0)
                        for cs in status.get("containerStatuses") or []] or [0])
        elapsed = max(0.0, (now_wall - started).total_seconds())
        rec = PodRecord(uid, self.name, str(status.get("podIP") or ""), ids, started,
                        trio.current_time() - elapsed, completion_of(pod),
                        restart_count=restarts, requests=pod_requests(pod))
        self.records[key] = rec
        if rec.ip and self.ips is not None and not _spec(pod).get("hostNetwork"):
            self.ips.reserve(uid, rec.ip)
        return rec

    def _adopt(self, key: str, pod: Obj) -> float | None:
        rec = self._adopt_record(key, pod)
        after = rec.completion.after
        if after is None:
            return None
        return max(0.0, rec.started_mono + after - trio.current_time())

    def _terminal_status(self, pod: Obj, rec: PodRecord, code: int) -> Obj:
        now = self._wall()
        spec = _spec(pod)
        statuses = [
            terminated_container_status(
                pod, c, container_id=rec.container_ids.get(c["name"]) or fake_container_id(),
                image_id=fake_image_id(str(c.get("image") or "")), exit_code=code,
                started_at=rec.started_at, finished_at=now, restart_count=rec.restart_count,
                last_state=rec.last_state,
            )
            for c in spec.get("containers") or []
        ]
        phase = "Succeeded" if code == 0 else "Failed"
        status: Obj = {
            "phase": phase,
            "conditions": pod_conditions(pod, phase=phase, container_statuses=statuses,
                                         sandbox_ready=False, now=now),
            "hostIP": self.config.internal_ip,
            "hostIPs": self._host_ips(),
            "startTime": format_time(rec.started_at),
            "containerStatuses": statuses,
        }
        if rec.ip:
            status["podIP"] = rec.ip
            status["podIPs"] = [{"ip": rec.ip}]
        inits = self._init_statuses(pod, rec)
        if inits:
            status["initContainerStatuses"] = inits
        return status

    async def _exit(self, pod: Obj, rec: PodRecord) -> float | None:
        code = rec.completion.code
        if code != 0 and _spec(pod).get("restartPolicy") == "OnFailure":
            # The container is restarted in place; failures come no faster than the
            # kubelet's crash-loop back-off would allow.
            now = self._wall()
            first = next(iter(rec.container_ids.values()), fake_container_id())
            rec.last_state = terminated_state(first, code, rec.started_at, now)
            rec.restart_count += 1
            rec.container_ids = {k: fake_container_id() for k in rec.container_ids}
            rec.started_at = now
            backoff = min(RESTART_BACKOFF_CAP,
                          RESTART_BACKOFF_START * 2 ** (rec.restart_count - 1))
            rec.started_mono = trio.current_time() + max(0.0, backoff - (rec.completion.after or 0))
            await self._write_status(pod, self._running_status(pod, rec))
            return max(0.0, rec.started_mono + (rec.completion.after or 0) - trio.current_time())
        rec.terminated = True
        await self._write_status(pod, self._terminal_status(pod, rec, code))
        if self.ips is not None:
            self.ips.release(rec.uid)
        return None

    async def _kill(self, pod: Obj, rec: PodRecord) -> None:
        if rec.terminated:
            return
        rec.terminated = True
        try:
            await self._write_status(pod, self._terminal_status(pod, rec, 0))
        except NotFound:
            pass

    async def _delete(self, pod: Obj) -> None:
        meta = _meta(pod)
        try:
            await self.client.delete(PODS, str(meta["name"]), namespace=str(meta["namespace"]),
                                     grace_period_seconds=0, uid=str(meta["uid"]))
        except (NotFound, Conflict):
            pass
