"""Liveness, readiness and startup probes: one worker task per (pod, container, kind).

A worker belongs to one container ID; a restarted container gets fresh workers. Timing is
upstream's: the first probe after ``initialDelaySeconds`` counted from the container's
start, then every ``periodSeconds``, each attempt limited by ``timeoutSeconds``; the result
flips to success after ``successThreshold`` consecutive successes and to failure after
``failureThreshold`` consecutive failures. Defaults: delay 0, period 10, timeout 1,
success 1, failure 3.

Results and their meaning::

    kind       before the first result   failure                         success
    startup    not started               kill (will be restarted)        started; liveness and
                                                                         readiness begin
    liveness   alive                     kill (will be restarted)        alive
    readiness  not ready                 not ready                       ready

Liveness and readiness do not run until the startup probe (if any) succeeded. After a
kill a worker stops until its container is replaced. Every failed attempt is reported as
a ``Warning Unhealthy`` event (``Liveness probe failed: <output>``) as upstream does;
a result change pokes the pod's worker so the status (``ready``, ``started``, the Ready
conditions) follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import trio

from ..cri import RuntimeService
from .actions import Outcome, exec_action, grpc_check, http_get, resolve_port, tcp_check

__all__ = ["KINDS", "ProbeManager", "ProbeTiming", "run_probe"]

log = logging.getLogger("k3trio.agent.kubelet.probes")

KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
_LABEL = {"startupProbe": "Startup", "livenessProbe": "Liveness", "readinessProbe": "Readiness"}


@attrs.frozen
class ProbeTiming:
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def of(cls, probe: Mapping[str, Any]) -> ProbeTiming:
        def num(key: str, default: int) -> int:
            value = probe.get(key)
            return int(value) if value else default
        return cls(float(probe.get("initialDelaySeconds") or 0), float(num("periodSeconds", 10)),
                   float(num("timeoutSeconds", 1)), num("successThreshold", 1),
                   num("failureThreshold", 3))


async def run_probe(runtime: RuntimeService, probe: Mapping[str, Any],
                    container: Mapping[str, Any], container_id: str, pod_ip: str,
                    timeout: float) -> Outcome:
    """One attempt of ``probe``'s handler."""
    if probe.get("exec"):
        return await exec_action(runtime, container_id, probe["exec"].get("command") or [],
                                 timeout)
    for key in ("httpGet", "tcpSocket", "grpc"):
        h = probe.get(key)
        if not h:
            continue
        port = resolve_port(h.get("port"), container)
        if port is None:
            return Outcome(False, f"unable to resolve port {h.get('port')!r}")
        host = str(h.get("host") or pod_ip or "127.0.0.1")
        if key == "httpGet":
            return await http_get(host, port, str(h.get("path") or "/"),
                                  scheme=str(h.get("scheme") or "HTTP"),
                                  headers=h.get("httpHeaders") or [], timeout=timeout)
        if key == "tcpSocket":
            return await tcp_check(host, port, timeout)
        return await grpc_check(host, port, str(h.get("service") or ""), timeout)
    return Outcome(False, "missing probe handler")


@attrs.define
class _Worker:
    container_id: str
    scope: trio.CancelScope
    result: bool | None = None


Kill = Callable[[str, str, str, str, int | None], None]
Event = Callable[[Mapping[str, Any], str, str, str], None]


class ProbeManager:
    """Runs the probes of running containers (see module doc).

    Args:
        runtime: for exec probes.
        poke: called with a pod UID when a readiness or startup result changed.
        kill: ``kill(uid, container name, container id, message, grace)`` after a failed
            liveness or startup probe.
        event: ``event(pod, type, reason, message)``.
    """

    def __init__(self, runtime: RuntimeService, *, poke: Callable[[str], None], kill: Kill,
                 event: Event) -> None:
        self.runtime = runtime
        self._poke = poke
        self._kill = kill
        self._event = event
        self._workers: dict[tuple[str, str, str], _Worker] = {}
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    # -- queries ----------------------------------------------------------------------

    def started(self, uid: str, container: Mapping[str, Any], container_id: str) -> bool:
        if not container.get("startupProbe"):
            return True
        w = self._workers.get((uid, str(container.get("name")), "startupProbe"))
        return w is not None and w.container_id == container_id and w.result is True

    def ready(self, uid: str, container: Mapping[str, Any], container_id: str) -> bool:
        if not self.started(uid, container, container_id):
            return False
        if not container.get("readinessProbe"):
            return True
        w = self._workers.get((uid, str(container.get("name")), "readinessProbe"))
        return w is not None and w.container_id == container_id and w.result is True

    # -- workers ----------------------------------------------------------------------

    def sync(self, pod: Mapping[str, Any], running: Mapping[str, tuple[str, float]],
             pod_ip: str) -> None:
        """Make the workers match the pod's running containers.

        Args:
            running: container name -> (container id, seconds since it started).
        """
        uid = str((pod.get("metadata") or {}).get("uid"))
        spec = pod.get("spec") or {}
        wanted: set[tuple[str, str, str]] = set()
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            name = str(c.get("name"))
            if name not in running:
                continue
            cid, age = running[name]
            for kind in KINDS:
                if not c.get(kind):
                    continue
                key = (uid, name, kind)
                wanted.add(key)
                w = self._workers.get(key)
                if w is not None and w.container_id == cid:
                    continue
                if w is not None:
                    w.scope.cancel()
                if self._nursery is None:
                    continue
                scope = trio.CancelScope()
                self._workers[key] = _Worker(cid, scope)
                self._nursery.start_soon(self._work, scope, key, pod, c, cid, age, pod_ip)
        for key in [k for k in self._workers if k[0] == uid and k not in wanted]:
            self._workers.pop(key).scope.cancel()

    def forget(self, uid: str) -> None:
        for key in [k for k in self._workers if k[0] == uid]:
            self._workers.pop(key).scope.cancel()

    async def _work(self, scope: trio.CancelScope, key: tuple[str, str, str],
                    pod: Mapping[str, Any], container: Mapping[str, Any], cid: str,
                    age: float, pod_ip: str) -> None:
        uid, name, kind = key
        probe = container[kind]
        timing = ProbeTiming.of(probe)
        with scope:
            await trio.sleep(max(0.0, timing.initial_delay - age))
            successes = failures = 0
            while True:
                if kind != "startupProbe" and not self.started(uid, container, cid):
                    await trio.sleep(timing.period)
                    continue
                outcome = await run_probe(self.runtime, probe, container, cid, pod_ip,
                                          timing.timeout)
                w = self._workers.get(key)
                if w is None or w.container_id != cid:
                    return
                if outcome.ok:
                    successes, failures = successes + 1, 0
                    threshold = 1 if kind != "readinessProbe" else timing.success_threshold
                    if successes >= threshold and w.result is not True:
                        w.result = True
                        self._poke(uid)
                else:
                    failures, successes = failures + 1, 0
                    self._event(pod, "Warning", "Unhealthy",
                                f"{_LABEL[kind]} probe failed: {outcome.message}".rstrip())
                    if failures >= timing.failure_threshold:
                        changed = w.result is not False
                        w.result = False
                        if kind in ("livenessProbe", "startupProbe"):
                            grace = probe.get("terminationGracePeriodSeconds")
                            self._kill(uid, name, cid,
                                       f"Container {name} failed {_LABEL[kind].lower()} probe, "
                                       f"will be restarted",
                                       int(grace) if grace is not None else None)
                            return
                        if changed:
                            self._poke(uid)
                await trio.sleep(timing.period)
