"""The kubelet: pod workers keyed by pod UID over a CRI runtime.

    Kubelet.run
    ├── informer: pods with ``spec.nodeName=<node>`` (handlers only hand the pod to its worker)
    ├── one worker task per pod UID: ``sync_pod`` whenever the pod changes, its containers
    │   change, or a back-off expires; updates arriving during a sync are coalesced into one
    │   more sync; a pod's syncs never overlap
    └── relist (PLEG): every ``relist_period`` list the runtime's containers; a state change
        pokes the owning pod's worker; containers of pods this node no longer has are killed

``sync_pod`` for a live pod: ensure one ready sandbox (stale or dead ones are stopped and
removed; a new one gets attempt + 1), then for each container: start it when it never ran,
restart it per ``restartPolicy`` after the crash-loop back-off, pull its image per
``imagePullPolicy`` first; then write the status computed from what the runtime reports.
A pod that reached Succeeded/Failed has its sandbox stopped. A pod being deleted has its
containers stopped with the grace period, its sandboxes stopped and removed, its final status
written, and is then deleted with grace 0 (UID precondition). A pod gone from the API has
everything of it removed.

Invariants: every runtime object the kubelet creates carries the pod UID label, which is how
a restarted kubelet re-adopts running sandboxes and containers (nothing is restarted); the
restart count is the container attempt; a kill is never dropped (the worker re-syncs until
nothing of the pod runs).
"""

from __future__ import annotations

import base64
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import trio

from ...api.meta import format_time
from ...client import (
    ApiError,
    Client,
    ClientError,
    Conflict,
    DeletedFinalStateUnknown,
    EventRecorder,
    NotFound,
    SharedInformerFactory,
)
from ...client.resource import PODS, SECRETS
from ..cri import (
    AuthConfig,
    ContainerState,
    ContainerStatus,
    CriError,
    CriNotFound,
    ImagePullError,
    ImageService,
    RuntimeService,
    SandboxConfig,
    SandboxState,
)
from ..node.podstatus import normalize_image, pod_conditions
from .podsync import Backoff, ContainerView, container_status, ns_to_datetime, pod_phase, should_restart
from .specs import CONTAINER_NAME_LABEL, POD_UID_LABEL, container_config, sandbox_config

__all__ = ["Kubelet"]

log = logging.getLogger("k3trio.agent.kubelet")

Obj = dict[str, Any]

TERMINAL = ("Succeeded", "Failed")
ERROR_RETRY = 2.0


@attrs.define
class _Worker:
    uid: str
    pod: Obj | None
    poked: trio.Event = attrs.field(factory=trio.Event)
    waiting: dict[str, tuple[str, str]] = attrs.field(factory=dict)  # name -> (reason, msg)
    last_status: Obj | None = None
    grace: int = 30


def _meta(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return pod.get("metadata") or {}


def _spec(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return pod.get("spec") or {}


def _registry_of(image: str) -> str:
    first = normalize_image(image).split("/", 1)[0]
    return "index.docker.io" if first == "docker.io" else first


def pull_credentials(image: str, secrets: Sequence[Mapping[str, Any]]) -> AuthConfig | None:
    """Credentials for ``image`` from ``kubernetes.io/dockerconfigjson`` (or dockercfg) secrets."""
    want = _registry_of(image)
    for secret in secrets:
        data = secret.get("data") or {}
        raw = data.get(".dockerconfigjson") or data.get(".dockercfg")
        if not raw:
            continue
        try:
            doc = json.loads(base64.b64decode(raw))
        except (ValueError, TypeError):
            continue
        auths = doc.get("auths", doc) if isinstance(doc, dict) else {}
        for server, entry in auths.items():
            host = server.split("://", 1)[-1].split("/", 1)[0]
            if host in ("docker.io", "registry-1.docker.io"):
                host = "index.docker.io"
            if host != want or not isinstance(entry, dict):
                continue
            user, password = entry.get("username", ""), entry.get("password", "")
            if not user and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return AuthConfig(username=user, password=password, server_address=server,
                              identity_token=entry.get("identitytoken", ""))
    return None


class Kubelet:
    """Runs the pods bound to one node. ``await nursery.start(kubelet.run)``.

    Args:
        client: the node's client (``system:node:<name>``).
        runtime, images: the CRI services.
        node_name, host_ip: this node.
        network_ready: whether pods that need the pod network may start.
        cluster_dns, cluster_domain: what ClusterFirst pods resolve with.
        host_resolv: the host's ``(nameservers, searches, options)``.
    """

    def __init__(
        self,
        client: Client,
        runtime: RuntimeService,
        images: ImageService,
        *,
        node_name: str,
        host_ip: str,
        network_ready: Callable[[], bool] = lambda: True,
        cluster_dns: tuple[str, ...] = (),
        cluster_domain: str = "cluster.local",
        host_resolv: tuple[list[str], list[str], list[str]] = ([], [], []),
        log_root: str = "/var/log/pods",
        recorder: EventRecorder | None = None,
        relist_period: float = 1.0,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.images = images
        self.node_name = node_name
        self.host_ip = host_ip
        self.network_ready = network_ready
        self.cluster_dns = cluster_dns
        self.cluster_domain = cluster_domain
        self.host_resolv = host_resolv
        self.log_root = log_root
        self.recorder = recorder
        self.relist_period = relist_period
        self._wall = wall_clock
        self.workers: dict[str, _Worker] = {}
        self.backoff = Backoff()
        self._nursery: trio.Nursery | None = None
        self._states: dict[str, tuple[str, ContainerState]] = {}  # container id -> (uid, state)
        self.factory = SharedInformerFactory(client)
        self.pods = self.factory.informer(PODS, field_selector=f"spec.nodeName={node_name}")
        self.synced = trio.Event()

    # -- feeding workers --------------------------------------------------------------

    def _on_pod(self, pod: Obj) -> None:
        uid = str(_meta(pod).get("uid"))
        self.update(uid, pod)

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        self._on_pod(new)

    def _on_pod_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if isinstance(pod, Mapping):
            self.update(str(_meta(pod).get("uid")), None)

    def update(self, uid: str, pod: Obj | None) -> None:
        """Hand the latest pod (None: gone from the API) to its worker, starting one."""
        worker = self.workers.get(uid)
        if worker is None:
            if self._nursery is None:
                return
            worker = self.workers[uid] = _Worker(uid, pod)
            self._nursery.start_soon(self._work, worker)
            return
        worker.pod = pod
        worker.poked.set()

    async def _work(self, w: _Worker) -> None:
        while True:
            w.poked = trio.Event()
            try:
                delay, done = await self.sync_pod(w)
            except (CriError, ApiError, ClientError) as exc:
                log.warning("Error syncing pod %s: %s", w.uid, exc)
                delay, done = ERROR_RETRY, False
            except Exception:
                # A bug in one pod's sync must not take every other pod down with it.
                log.exception("Unexpected error syncing pod %s", w.uid)
                delay, done = 10 * ERROR_RETRY, False
            if done and not w.poked.is_set():
                del self.workers[w.uid]
                self.backoff.forget(w.uid)
                return
            with trio.move_on_after(delay if delay is not None else math.inf):
                await w.poked.wait()

    # -- observing the runtime --------------------------------------------------------

    async def _observe(self, uid: str) -> tuple[list[Any], dict[str, list[ContainerStatus]]]:
        """The pod's sandboxes (newest first) and container statuses by name (newest first)."""
        sandboxes = sorted(await self.runtime.list_pod_sandboxes({POD_UID_LABEL: uid}),
                           key=lambda s: (s.attempt, s.created_at), reverse=True)
        by_name: dict[str, list[ContainerStatus]] = {}
        for info in await self.runtime.list_containers({POD_UID_LABEL: uid}):
            try:
                status = await self.runtime.container_status(info.id)
            except CriNotFound:
                continue
            status = attrs.evolve(status, annotations={**status.annotations,
                                                       "sandbox": info.sandbox_id})
            by_name.setdefault(info.labels.get(CONTAINER_NAME_LABEL, info.name), []).append(status)
        for statuses in by_name.values():
            statuses.sort(key=lambda s: (s.attempt, s.created_at), reverse=True)
        return sandboxes, by_name

    async def relist(self) -> None:
        """One PLEG pass: poke workers whose containers changed; kill orphans."""
        seen: dict[str, tuple[str, ContainerState]] = {}
        for info in await self.runtime.list_containers():
            uid = info.labels.get(POD_UID_LABEL)
            if not uid:
                continue
            seen[info.id] = (uid, info.state)
            if self._states.get(info.id) != seen[info.id]:
                self._poke_or_reap(uid)
        for cid, (uid, _) in self._states.items():
            if cid not in seen:
                self._poke_or_reap(uid)
        for sandbox in await self.runtime.list_pod_sandboxes():
            uid = sandbox.labels.get(POD_UID_LABEL)
            if uid and uid not in self.workers and not self._known(uid):
                self.update(uid, None)
        self._states = seen

    def _known(self, uid: str) -> bool:
        return any(str(_meta(p).get("uid")) == uid for p in self.pods.indexer.list())

    def _poke_or_reap(self, uid: str) -> None:
        worker = self.workers.get(uid)
        if worker is not None:
            worker.poked.set()
        elif not self._known(uid):
            self.update(uid, None)
        else:
            for pod in self.pods.indexer.list():
                if str(_meta(pod).get("uid")) == uid:
                    self.update(uid, pod)

    # -- sync -------------------------------------------------------------------------

    async def sync_pod(self, w: _Worker) -> tuple[float | None, bool]:
        """One sync of a pod; returns ``(seconds until the next sync or None, done)``."""
        pod = w.pod
        if pod is None:
            sandboxes, containers = await self._observe(w.uid)
            await self._kill(w, None, sandboxes, containers, remove=True)
            return None, True
        w.grace = int(_spec(pod).get("terminationGracePeriodSeconds", 30) or 0)
        if _meta(pod).get("deletionTimestamp"):
            return await self._terminate(w, pod)
        phase = (pod.get("status") or {}).get("phase")
        sandboxes, containers = await self._observe(w.uid)
        if phase in TERMINAL:
            if any(s.state == SandboxState.READY for s in sandboxes):
                await self._kill(w, pod, sandboxes, containers, remove=False)
            return None, True
        return await self._run(w, pod, sandboxes, containers)

    async def _run(self, w: _Worker, pod: Obj, sandboxes: list[Any],
                   containers: dict[str, list[ContainerStatus]]) -> tuple[float | None, bool]:
        spec = _spec(pod)
        policy = str(spec.get("restartPolicy") or "Always")
        specs = list(spec.get("containers") or [])
        delays: list[float] = []
        ready = next((s for s in sandboxes if s.state == SandboxState.READY), None)
        finished = bool(containers) and all(
            containers.get(c["name"]) and containers[c["name"]][0].state == ContainerState.EXITED
            and not should_restart(policy, containers[c["name"]][0].exit_code) for c in specs)
        if ready is None and finished:
            return await self._finish(w, pod, sandboxes, containers)
        if ready is None and not spec.get("hostNetwork") and not self.network_ready():
            return 1.0, False
        attempt = sandboxes[0].attempt + 1 if sandboxes else 0
        sconfig = sandbox_config(pod, attempt=ready.attempt if ready else attempt,
                                 cluster_dns=self.cluster_dns, cluster_domain=self.cluster_domain,
                                 host_resolv=self.host_resolv, log_root=self.log_root)
        stale = [s for s in sandboxes if ready is None or s.id != ready.id]
        if stale:
            await self._remove_sandboxes(w, stale, containers)
        if ready is None:
            sandbox_id = await self.runtime.run_pod_sandbox(sconfig)
            containers = {n: [s for s in lst if s.annotations.get("sandbox") not in
                              {x.id for x in stale}] or lst[:1] for n, lst in containers.items()}
        else:
            sandbox_id = ready.id
        sstatus = await self.runtime.pod_sandbox_status(sandbox_id)
        pod_ip = self.host_ip if spec.get("hostNetwork") else sstatus.ip
        for c in specs:
            name = c["name"]
            history = containers.get(name) or []
            latest = history[0] if history else None
            live = latest is not None and latest.annotations.get("sandbox") == sandbox_id
            if live and latest is not None and latest.state == ContainerState.RUNNING:
                w.waiting.pop(name, None)
                continue
            restart_count = latest.attempt + 1 if latest is not None else 0
            if latest is not None and latest.state == ContainerState.EXITED:
                if not should_restart(policy, latest.exit_code):
                    w.waiting.pop(name, None)
                    continue
                now = trio.current_time()
                since = now - max(0.0, (self._wall() - ns_to_datetime(
                    latest.finished_at or latest.created_at)).total_seconds())
                left = self.backoff.remaining((w.uid, name), since, now)
                if left > 0:
                    w.waiting[name] = ("CrashLoopBackOff",
                                       f"back-off {self._backoff_text(w.uid, name)} restarting "
                                       f"failed container={name} pod={_meta(pod).get('name')}_"
                                       f"{_meta(pod).get('namespace')}({w.uid})")
                    self._event(pod, "Warning", "BackOff",
                                f"Back-off restarting failed container {name} in pod "
                                f"{_meta(pod).get('name')}_{_meta(pod).get('namespace')}"
                                f"({w.uid})")
                    delays.append(left)
                    continue
                self.backoff.next((w.uid, name), now)
            elif latest is not None and live and latest.state == ContainerState.CREATED:
                await self._remove_container(latest.id)
                restart_count = latest.attempt
            delay = await self._start_container(w, pod, c, sandbox_id, sconfig, restart_count,
                                                pod_ip)
            if delay is not None:
                delays.append(delay)
            for old in history[1:]:
                await self._remove_container(old.id)
        _, containers = await self._observe(w.uid)
        status = self._status(w, pod, containers, pod_ip=pod_ip, sandbox_ready=True)
        await self._write_status(w, pod, status)
        if status["phase"] in TERMINAL:
            await self.runtime.stop_pod_sandbox(sandbox_id)
            return None, True
        return (min(delays) if delays else None), False

    def _backoff_text(self, uid: str, name: str) -> str:
        entry = self.backoff._entries.get((uid, name))
        seconds = int(entry[0]) if entry else int(self.backoff.start)
        return f"{seconds // 60}m{seconds % 60}s" if seconds >= 60 else f"{seconds}s"

    async def _start_container(self, w: _Worker, pod: Obj, c: Mapping[str, Any],
                               sandbox_id: str, sconfig: SandboxConfig, restart_count: int,
                               pod_ip: str) -> float | None:
        name = str(c["name"])
        image = str(c.get("image") or "")
        failure = await self._ensure_image(w, pod, c, sconfig)
        if failure is not None:
            return failure
        try:
            config = container_config(pod, c, restart_count=restart_count, image=image,
                                      pod_ip=pod_ip, host_ip=self.host_ip)
            cid = await self.runtime.create_container(sandbox_id, config, sconfig)
        except CriError as exc:
            w.waiting[name] = ("CreateContainerError", str(exc))
            self._event(pod, "Warning", "Failed", f"Error: {exc}")
            return ERROR_RETRY
        self._event(pod, "Normal", "Created", f"Created container: {name}")
        try:
            await self.runtime.start_container(cid)
        except CriError as exc:
            w.waiting[name] = ("RunContainerError", str(exc))
            self._event(pod, "Warning", "Failed", f"Error: {exc}")
            return ERROR_RETRY
        self._event(pod, "Normal", "Started", f"Started container {name}")
        w.waiting.pop(name, None)
        return None

    async def _ensure_image(self, w: _Worker, pod: Obj, c: Mapping[str, Any],
                            sconfig: SandboxConfig) -> float | None:
        name = str(c["name"])
        image = str(c.get("image") or "")
        policy = c.get("imagePullPolicy") or (
            "Always" if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
            else "IfNotPresent")
        present = await self.images.image_status(image) if policy != "Always" else None
        if present is not None:
            self._event(pod, "Normal", "Pulled",
                        f'Container image "{image}" already present on machine')
            return None
        if policy == "Never":
            w.waiting[name] = ("ErrImageNeverPull",
                               f'Container image "{image}" is not present with pull policy '
                               f'of Never')
            self._event(pod, "Warning", "ErrImageNeverPull", w.waiting[name][1])
            return None
        key = (w.uid, name, "pull")
        now = trio.current_time()
        left = self.backoff.remaining(key, now, now)
        if left > 0 and w.waiting.get(name, ("",))[0] in ("ErrImagePull", "ImagePullBackOff"):
            w.waiting[name] = ("ImagePullBackOff", f'Back-off pulling image "{image}"')
            return left
        self._event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        began = trio.current_time()
        try:
            auth = pull_credentials(image, await self._pull_secrets(pod))
            await self.images.pull_image(image, auth, sconfig)
        except ImagePullError as exc:
            self.backoff.next(key, trio.current_time())
            w.waiting[name] = ("ErrImagePull", str(exc))
            self._event(pod, "Warning", "Failed", f'Failed to pull image "{image}": {exc}')
            return self.backoff.remaining(key, trio.current_time(), trio.current_time())
        self._event(pod, "Normal", "Pulled", f'Successfully pulled image "{image}" in '
                                             f"{trio.current_time() - began:.3f}s")
        return None

    async def _pull_secrets(self, pod: Obj) -> list[Obj]:
        out: list[Obj] = []
        ns = str(_meta(pod).get("namespace"))
        for ref in _spec(pod).get("imagePullSecrets") or []:
            try:
                out.append(await self.client.get(SECRETS, str(ref.get("name")), namespace=ns))
            except (ApiError, ClientError) as exc:
                log.warning("Unable to retrieve pull secret %s/%s: %s", ns, ref.get("name"), exc)
        return out

    # -- stopping ---------------------------------------------------------------------

    async def _remove_container(self, cid: str) -> None:
        try:
            await self.runtime.remove_container(cid)
        except CriNotFound:
            pass

    async def _remove_sandboxes(self, w: _Worker, sandboxes: list[Any],
                                containers: dict[str, list[ContainerStatus]]) -> None:
        ids = {s.id for s in sandboxes}
        for statuses in containers.values():
            for s in statuses:
                if s.annotations.get("sandbox") in ids and s.state == ContainerState.RUNNING:
                    await self.runtime.stop_container(s.id, w.grace)
        for s in sandboxes:
            try:
                await self.runtime.stop_pod_sandbox(s.id)
                await self.runtime.remove_pod_sandbox(s.id)
            except CriNotFound:
                pass

    async def _kill(self, w: _Worker, pod: Obj | None, sandboxes: list[Any],
                    containers: dict[str, list[ContainerStatus]], *, remove: bool,
                    grace: int | None = None) -> None:
        timeout = w.grace if grace is None else grace
        running = [s for lst in containers.values() for s in lst
                   if s.state == ContainerState.RUNNING]
        async with trio.open_nursery() as nursery:
            for s in running:
                if pod is not None:
                    self._event(pod, "Normal", "Killing", f"Stopping container {s.name}")
                nursery.start_soon(self._stop_container, s.id, timeout)
        for s in sandboxes:
            try:
                await self.runtime.stop_pod_sandbox(s.id)
                if remove:
                    await self.runtime.remove_pod_sandbox(s.id)
            except CriNotFound:
                pass

    async def _stop_container(self, cid: str, timeout: int) -> None:
        try:
            await self.runtime.stop_container(cid, timeout)
        except CriNotFound:
            pass

    async def _terminate(self, w: _Worker, pod: Obj) -> tuple[float | None, bool]:
        grace = _meta(pod).get("deletionGracePeriodSeconds")
        grace = int(grace) if grace is not None else w.grace
        sandboxes, containers = await self._observe(w.uid)
        ran = bool(sandboxes or containers)
        await self._kill(w, pod, sandboxes, containers, remove=False, grace=grace)
        if ran and (pod.get("status") or {}).get("phase") not in TERMINAL:
            _, containers = await self._observe(w.uid)
            status = self._status(w, pod, containers, pod_ip=self._pod_ip(pod),
                                  sandbox_ready=False, final=True)
            try:
                await self._write_status(w, pod, status)
            except NotFound:
                pass
        sandboxes, _ = await self._observe(w.uid)
        for s in sandboxes:
            try:
                await self.runtime.remove_pod_sandbox(s.id)
            except CriNotFound:
                pass
        meta = _meta(pod)
        try:
            await self.client.delete(PODS, str(meta["name"]), namespace=str(meta["namespace"]),
                                     grace_period_seconds=0, uid=str(meta["uid"]))
        except (NotFound, Conflict):
            pass
        return None, False

    async def _finish(self, w: _Worker, pod: Obj, sandboxes: list[Any],
                      containers: dict[str, list[ContainerStatus]]) -> tuple[float | None, bool]:
        status = self._status(w, pod, containers, pod_ip=self._pod_ip(pod), sandbox_ready=False)
        await self._write_status(w, pod, status)
        return None, status["phase"] in TERMINAL

    # -- status -----------------------------------------------------------------------

    @staticmethod
    def _pod_ip(pod: Obj) -> str:
        return str((pod.get("status") or {}).get("podIP") or "")

    def _status(self, w: _Worker, pod: Obj, containers: dict[str, list[ContainerStatus]], *,
                pod_ip: str, sandbox_ready: bool, final: bool = False) -> Obj:
        spec = _spec(pod)
        policy = str(spec.get("restartPolicy") or "Always")
        now = self._wall()
        statuses = []
        for c in spec.get("containers") or []:
            history = containers.get(c["name"]) or []
            reason, message = w.waiting.get(c["name"], ("", ""))
            view = ContainerView(history[0] if history else None,
                                 history[1] if len(history) > 1 else None, reason, message)
            if final and view.latest is not None and view.latest.state == ContainerState.EXITED:
                view = attrs.evolve(view, waiting_reason="", waiting_message="")
            statuses.append(container_status(pod, c, view, self._image_id))
        phase = pod_phase("Never" if final else policy, statuses)
        if final and phase not in TERMINAL:
            phase = "Failed" if any("terminated" not in (s.get("state") or {})
                                    or s["state"]["terminated"].get("exitCode") for s in statuses
                                    ) else "Succeeded"
        old = pod.get("status") or {}
        status: Obj = {
            "phase": phase,
            "conditions": pod_conditions(pod, phase=phase, container_statuses=statuses,
                                         sandbox_ready=sandbox_ready and phase not in TERMINAL,
                                         now=now),
            "hostIP": self.host_ip,
            "hostIPs": [{"ip": self.host_ip}],
            "startTime": old.get("startTime") or format_time(now),
            "containerStatuses": statuses,
        }
        if pod_ip:
            status["podIP"] = pod_ip
            status["podIPs"] = [{"ip": pod_ip}]
        return status

    @staticmethod
    def _image_id(s: ContainerStatus) -> str:
        ref = s.image_ref
        if ref.startswith("sha256:"):
            return f"{normalize_image(s.image).rsplit(':', 1)[0]}@{ref}" if s.image else ref
        return ref

    async def _write_status(self, w: _Worker, pod: Obj, status: Obj) -> None:
        if status == w.last_status:
            return
        meta = _meta(pod)
        body = dict(status)
        if meta.get("generation") is not None:
            body["observedGeneration"] = meta["generation"]
        await self.client.patch(
            PODS, str(meta["name"]), {"metadata": {"uid": meta["uid"]}, "status": body},
            patch_type="strategic", namespace=str(meta["namespace"]), subresource="status",
        )
        w.last_status = status

    def _event(self, pod: Obj, type_: str, reason: str, message: str) -> None:
        if self.recorder is not None:
            self.recorder.event(pod, type_, reason, message)

    # -- main -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the informer, the workers and the relist loop until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self.pods.add_event_handler(self._on_pod, self._on_pod_update, self._on_pod_delete)
            await nursery.start(self.factory.run)
            await self.factory.wait_for_cache_sync()
            self.synced.set()
            nursery.start_soon(self._relist_loop)
            task_status.started()

    async def _relist_loop(self) -> None:
        while True:
            try:
                await self.relist()
            except CriError as exc:
                log.warning("PLEG relist failed: %s", exc)
            await trio.sleep(self.relist_period)
