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
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
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
from ...client.resource import CONFIGMAPS, PODS, SECRETS, SERVICES
from ..cri import (
    AuthConfig,
    ContainerState,
    ContainerStatus,
    CriError,
    CriNotFound,
    ImagePullError,
    ImageService,
    MountSpec,
    RuntimeService,
    SandboxConfig,
    SandboxState,
)
from ..node.podstatus import normalize_image, pod_conditions
from .env import EnvError, NodeResources, build_env, env_references, service_env
from .hooks import MIN_GRACE, POST_START_TIMEOUT, describe_failure, run_hook
from .init import InitAction, incomplete, init_step, is_sidecar
from .podfiles import etc_hosts, termination_message
from .podsync import Backoff, ContainerView, container_status, ns_to_datetime, pod_phase, should_restart
from .probes import ProbeManager
from .specs import (
    CONTAINER_NAME_LABEL,
    POD_UID_LABEL,
    container_config,
    log_directory,
    sandbox_config,
)
from .volumes import ObjectCache, TokenManager, VolumeError, VolumeManager

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
    volume_error: str = ""


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


def host_resources() -> NodeResources:
    """This machine's CPUs, memory and disk as the default limits of containers."""
    memory = 1 << 30
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return NodeResources(cpu_millis=(os.cpu_count() or 1) * 1000, memory=memory)


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
        pods_root: Path | None = None,
        node_resources: NodeResources | None = None,
        memory_backed_volumes: bool | None = None,
        sync_frequency: float = 10.0,
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
        self.services = self.factory.informer(SERVICES)
        self.synced = trio.Event()
        self.sync_frequency = sync_frequency
        self.node_resources = node_resources or host_resources()
        self.objects = ObjectCache(client)
        self.volumes = VolumeManager(
            pods_root or Path("/var/lib/k3trio/agent/pods"), self.objects,
            TokenManager(client, wall_clock),
            memory_backed=os.geteuid() == 0 if memory_backed_volumes is None
            else memory_backed_volumes, node=self.node_resources)
        self.probes = ProbeManager(runtime, poke=self._poke, kill=self._probe_kill,
                                   event=lambda pod, t, r, m: self._event(dict(pod), t, r, m))

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
            await self._cleanup(w.uid)
            return None, True
        w.grace = int(_spec(pod).get("terminationGracePeriodSeconds", 30) or 0)
        if _meta(pod).get("deletionTimestamp"):
            return await self._terminate(w, pod)
        phase = (pod.get("status") or {}).get("phase")
        sandboxes, containers = await self._observe(w.uid)
        if phase in TERMINAL:
            if any(s.state == SandboxState.READY for s in sandboxes):
                await self._kill(w, pod, sandboxes, containers, remove=False)
            await self._cleanup(w.uid, keep_files=True)
            return None, True
        return await self._run(w, pod, sandboxes, containers)

    async def _cleanup(self, uid: str, *, keep_files: bool = False) -> None:
        """Forget the pod's probes and tokens; unmount and remove its volumes."""
        self.probes.forget(uid)
        await self.volumes.teardown(uid, volumes_only=keep_files)

    @staticmethod
    def _live(history: Sequence[ContainerStatus], sandbox_id: str) -> ContainerStatus | None:
        if history and history[0].annotations.get("sandbox") == sandbox_id:
            return history[0]
        return None

    def _finished(self, pod: Obj, containers: dict[str, list[ContainerStatus]]) -> bool:
        spec = _spec(pod)
        policy = str(spec.get("restartPolicy") or "Always")
        specs = list(spec.get("containers") or [])
        if policy == "Never":
            for c in spec.get("initContainers") or []:
                h = containers.get(c["name"]) or []
                if not is_sidecar(c) and h and h[0].state == ContainerState.EXITED \
                        and h[0].exit_code != 0:
                    return True
        return bool(containers) and all(
            containers.get(c["name"]) and containers[c["name"]][0].state == ContainerState.EXITED
            and not should_restart(policy, containers[c["name"]][0].exit_code) for c in specs)

    async def _run(self, w: _Worker, pod: Obj, sandboxes: list[Any],
                   containers: dict[str, list[ContainerStatus]]) -> tuple[float | None, bool]:
        spec = _spec(pod)
        policy = str(spec.get("restartPolicy") or "Always")
        specs = list(spec.get("containers") or [])
        inits = list(spec.get("initContainers") or [])
        delays: list[float] = [self.sync_frequency]
        ready = next((s for s in sandboxes if s.state == SandboxState.READY), None)
        if ready is None and self._finished(pod, containers):
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
        try:
            vols = await self.volumes.setup(pod, now=self._wall(), pod_ip=pod_ip,
                                            host_ip=self.host_ip)
        except VolumeError as exc:
            log.warning("Pod %s: %s", w.uid, exc)
            self._event(pod, "Warning", "FailedMount", str(exc))
            vols = None
        if vols is not None:
            w.volume_error = ""
            run_apps = True
            if inits:
                live = {c["name"]: self._live(containers.get(c["name"]) or [], sandbox_id)
                        for c in inits}
                for action, ic in init_step(inits, live, policy, self._started):
                    if action == InitAction.DONE or ic is None:
                        break
                    run_apps = False
                    if action in (InitAction.START, InitAction.RESTART):
                        delay = await self._ensure_running(
                            w, pod, ic, sandbox_id, sconfig, pod_ip, vols,
                            containers.get(ic["name"]) or [], "Always")
                        if delay is not None:
                            delays.append(delay)
            if run_apps:
                for c in specs:
                    delay = await self._ensure_running(w, pod, c, sandbox_id, sconfig, pod_ip,
                                                       vols, containers.get(c["name"]) or [],
                                                       policy)
                    if delay is not None:
                        delays.append(delay)
        else:
            delays.append(ERROR_RETRY)
        _, containers = await self._observe(w.uid)
        self._sync_probes(pod, containers, sandbox_id, pod_ip)
        status = self._status(w, pod, containers, pod_ip=pod_ip, sandbox_ready=True,
                              sandbox_id=sandbox_id)
        await self._write_status(w, pod, status)
        if status["phase"] in TERMINAL:
            self.probes.forget(w.uid)
            await self.runtime.stop_pod_sandbox(sandbox_id)
            return None, True
        return min(delays), False

    def _started(self, c: Mapping[str, Any], s: ContainerStatus) -> bool:
        uid = str(s.labels.get(POD_UID_LABEL, ""))
        return self.probes.started(uid, c, s.id)

    def _sync_probes(self, pod: Obj, containers: dict[str, list[ContainerStatus]],
                     sandbox_id: str, pod_ip: str) -> None:
        running: dict[str, tuple[str, float]] = {}
        now = self._wall()
        for name, history in containers.items():
            live = self._live(history, sandbox_id)
            if live is not None and live.state == ContainerState.RUNNING:
                age = (now - ns_to_datetime(live.started_at or live.created_at)).total_seconds()
                running[name] = (live.id, max(0.0, age))
        self.probes.sync(pod, running, pod_ip)

    async def _ensure_running(self, w: _Worker, pod: Obj, c: Mapping[str, Any], sandbox_id: str,
                              sconfig: SandboxConfig, pod_ip: str, vols: Mapping[str, Path],
                              history: list[ContainerStatus], policy: str) -> float | None:
        """Start or restart one container when it should run; a delay to retry after."""
        name = str(c["name"])
        latest = history[0] if history else None
        live = latest is not None and latest.annotations.get("sandbox") == sandbox_id
        if live and latest is not None and latest.state == ContainerState.RUNNING:
            w.waiting.pop(name, None)
            return None
        restart_count = latest.attempt + 1 if latest is not None else 0
        if latest is not None and latest.state == ContainerState.EXITED:
            if not should_restart(policy, latest.exit_code):
                w.waiting.pop(name, None)
                return None
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
                return left
            self.backoff.next((w.uid, name), now)
        elif latest is not None and live and latest.state == ContainerState.CREATED:
            await self._remove_container(latest.id)
            restart_count = latest.attempt
        delay = await self._start_container(w, pod, c, sandbox_id, sconfig, restart_count,
                                            pod_ip, vols)
        for old in history[1:]:
            await self._remove_container(old.id)
        return delay

    def _backoff_text(self, uid: str, name: str) -> str:
        entry = self.backoff._entries.get((uid, name))
        seconds = int(entry[0]) if entry else int(self.backoff.start)
        return f"{seconds // 60}m{seconds % 60}s" if seconds >= 60 else f"{seconds}s"

    async def _environment(self, pod: Obj, c: Mapping[str, Any], pod_ip: str
                           ) -> dict[str, str]:
        """The container's variables (see ``env``); raises ``EnvError``."""
        ns = str(_meta(pod).get("namespace"))
        cm_names, secret_names = env_references(pod, c)
        try:
            cms = {n: await self.objects.get(CONFIGMAPS, ns, n) for n in cm_names}
            secrets = {n: await self.objects.get(SECRETS, ns, n) for n in secret_names}
        except (ApiError, ClientError) as exc:
            raise EnvError(str(exc)) from exc
        links = _spec(pod).get("enableServiceLinks")
        services = service_env(self.services.indexer.list(), ns,
                               enable_service_links=links is None or bool(links))
        env, warnings = build_env(pod, c, configmaps=cms, secrets=secrets, services=services,
                                  pod_ip=pod_ip, host_ip=self.host_ip, node=self.node_resources)
        for text in warnings:
            self._event(pod, "Warning", "InvalidEnvironmentVariableNames", text)
        return env

    def _pod_mounts(self, pod: Obj, c: Mapping[str, Any], restart_count: int, pod_ip: str
                    ) -> list[MountSpec]:
        """The kubelet's own files in the container: /etc/hosts, the termination log."""
        uid = str(_meta(pod).get("uid"))
        pod_dir = self.volumes.pod_dir(uid)
        pod_dir.mkdir(parents=True, exist_ok=True)
        out: list[MountSpec] = []
        paths = {str(m.get("mountPath")) for m in c.get("volumeMounts") or []}
        if not _spec(pod).get("hostNetwork") and "/etc/hosts" not in paths:
            hosts = pod_dir / "etc-hosts"
            content = etc_hosts(pod, pod_ip, self.cluster_domain)
            if not hosts.exists() or hosts.read_text() != content:
                tmp = pod_dir / ".etc-hosts.tmp"
                tmp.write_text(content)
                os.chmod(tmp, 0o644)
                os.replace(tmp, hosts)
            out.append(MountSpec("/etc/hosts", str(hosts)))
        tpath = str(c.get("terminationMessagePath") or "/dev/termination-log")
        if tpath not in paths:
            f = self._termination_file(uid, str(c["name"]), restart_count)
            f.parent.mkdir(parents=True, exist_ok=True)
            f.touch(mode=0o666)
            os.chmod(f, 0o666)
            out.append(MountSpec(tpath, str(f)))
        return out

    def _termination_file(self, uid: str, name: str, attempt: int) -> Path:
        return self.volumes.pod_dir(uid) / "containers" / name / str(attempt)

    async def _start_container(self, w: _Worker, pod: Obj, c: Mapping[str, Any],
                               sandbox_id: str, sconfig: SandboxConfig, restart_count: int,
                               pod_ip: str, vols: Mapping[str, Path]) -> float | None:
        name = str(c["name"])
        image = str(c.get("image") or "")
        failure = await self._ensure_image(w, pod, c, sconfig)
        if failure is not None or w.waiting.get(name, ("",))[0] == "ErrImageNeverPull":
            return failure
        try:
            env = await self._environment(pod, c, pod_ip)
            mounts = [*self.volumes.mounts(c, vols, env),
                      *self._pod_mounts(pod, c, restart_count, pod_ip)]
        except (EnvError, VolumeError, OSError) as exc:
            w.waiting[name] = ("CreateContainerConfigError", str(exc))
            self._event(pod, "Warning", "Failed", f"Error: {exc}")
            return ERROR_RETRY
        try:
            config = container_config(pod, c, restart_count=restart_count, image=image,
                                      pod_ip=pod_ip, host_ip=self.host_ip, env=env,
                                      mounts=mounts)
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
        handler = (c.get("lifecycle") or {}).get("postStart")
        if handler:
            outcome = await run_hook(self.runtime, handler, c, cid, pod_ip, POST_START_TIMEOUT)
            if not outcome.ok:
                self._event(pod, "Warning", "FailedPostStartHook",
                            describe_failure(handler, name, pod, outcome))
                self._event(pod, "Normal", "Killing",
                            f"FailedPostStartHook")
                await self._stop_with_hooks(pod, None, cid, w.grace, pod_ip)
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

    @staticmethod
    def _container_spec(pod: Obj | None, name: str) -> Mapping[str, Any] | None:
        if pod is None:
            return None
        spec = _spec(pod)
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            if c.get("name") == name:
                return c  # type: ignore[no-any-return]
        return None

    async def _kill(self, w: _Worker, pod: Obj | None, sandboxes: list[Any],
                    containers: dict[str, list[ContainerStatus]], *, remove: bool,
                    grace: int | None = None) -> None:
        timeout = w.grace if grace is None else grace
        running = [s for lst in containers.values() for s in lst
                   if s.state == ContainerState.RUNNING]
        pod_ip = self._pod_ip(pod) if pod is not None else ""
        async with trio.open_nursery() as nursery:
            for s in running:
                if pod is not None:
                    self._event(pod, "Normal", "Killing", f"Stopping container {s.name}")
                nursery.start_soon(self._stop_with_hooks, pod, self._container_spec(pod, s.name),
                                   s.id, timeout, pod_ip)
        for s in sandboxes:
            try:
                await self.runtime.stop_pod_sandbox(s.id)
                if remove:
                    await self.runtime.remove_pod_sandbox(s.id)
            except CriNotFound:
                pass

    async def _stop_with_hooks(self, pod: Obj | None, c: Mapping[str, Any] | None, cid: str,
                               grace: int, pod_ip: str) -> None:
        """preStop (within the grace period), then TERM and KILL after what is left of it."""
        handler = ((c or {}).get("lifecycle") or {}).get("preStop")
        if handler and grace > 0 and pod is not None and c is not None:
            began = trio.current_time()
            outcome = await run_hook(self.runtime, handler, c, cid, pod_ip, float(grace))
            if not outcome.ok:
                self._event(pod, "Warning", "FailedPreStopHook",
                            describe_failure(handler, str(c.get("name")), pod, outcome))
            grace = max(MIN_GRACE, math.ceil(grace - (trio.current_time() - began)))
        await self._stop_container(cid, grace)

    async def _stop_container(self, cid: str, timeout: int) -> None:
        try:
            await self.runtime.stop_container(cid, timeout)
        except CriNotFound:
            pass

    def _probe_kill(self, uid: str, name: str, cid: str, message: str,
                    grace: int | None) -> None:
        """A failed liveness or startup probe: stop the container; the sync restarts it."""
        w = self.workers.get(uid)
        if w is None or w.pod is None or self._nursery is None:
            return
        pod = w.pod
        self._event(pod, "Normal", "Killing", message)

        async def kill() -> None:
            await self._stop_with_hooks(pod, self._container_spec(pod, name), cid,
                                        w.grace if grace is None else grace, self._pod_ip(pod))
            w.poked.set()

        self._nursery.start_soon(kill)

    def _poke(self, uid: str) -> None:
        w = self.workers.get(uid)
        if w is not None:
            w.poked.set()

    async def _terminate(self, w: _Worker, pod: Obj) -> tuple[float | None, bool]:
        grace = _meta(pod).get("deletionGracePeriodSeconds")
        grace = int(grace) if grace is not None else w.grace
        sandboxes, containers = await self._observe(w.uid)
        ran = bool(sandboxes or containers)
        self.probes.forget(w.uid)
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
        await self._cleanup(w.uid)
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

    def _with_message(self, pod: Obj, c: Mapping[str, Any], s: ContainerStatus | None
                      ) -> ContainerStatus | None:
        if s is None or s.state != ContainerState.EXITED or s.message:
            return s
        uid = str(_meta(pod).get("uid"))
        log_path = Path(log_directory(pod, self.log_root)) / str(c["name"]) / f"{s.attempt}.log"
        text = termination_message(self._termination_file(uid, str(c["name"]), s.attempt),
                                   log_path, str(c.get("terminationMessagePolicy") or "File"),
                                   s.exit_code)
        return attrs.evolve(s, message=text) if text else s

    def _view(self, w: _Worker, pod: Obj, c: Mapping[str, Any],
              history: list[ContainerStatus], *, final: bool, default_wait: str = ""
              ) -> ContainerView:
        reason, message = w.waiting.get(c["name"], ("", ""))
        latest = self._with_message(pod, c, history[0] if history else None)
        previous = self._with_message(pod, c, history[1] if len(history) > 1 else None)
        if latest is None and not reason and default_wait:
            reason = default_wait
        view = ContainerView(latest, previous, reason, message)
        if latest is not None and latest.state == ContainerState.RUNNING:
            view = attrs.evolve(view, ready=self.probes.ready(w.uid, c, latest.id),
                                started=self.probes.started(w.uid, c, latest.id))
        if final and latest is not None and latest.state == ContainerState.EXITED:
            view = attrs.evolve(view, waiting_reason="", waiting_message="")
        return view

    def _status(self, w: _Worker, pod: Obj, containers: dict[str, list[ContainerStatus]], *,
                pod_ip: str, sandbox_ready: bool, final: bool = False,
                sandbox_id: str | None = None) -> Obj:
        spec = _spec(pod)
        policy = str(spec.get("restartPolicy") or "Always")
        now = self._wall()
        inits = list(spec.get("initContainers") or [])
        init_latest: dict[str, ContainerStatus | None] = {}
        for c in inits:
            history = containers.get(c["name"]) or []
            init_latest[c["name"]] = history[0] if history else None
            if sandbox_id is not None and history and \
                    history[0].annotations.get("sandbox") != sandbox_id:
                init_latest[c["name"]] = None
        pending = incomplete(inits, init_latest)
        init_failed = policy == "Never" and any(
            (s := init_latest.get(c["name"])) is not None and not is_sidecar(c)
            and s.state == ContainerState.EXITED and s.exit_code != 0 for c in inits)
        init_statuses = [container_status(pod, c, self._view(
            w, pod, c, containers.get(c["name"]) or [], final=final,
            default_wait="PodInitializing"), self._image_id) for c in inits]
        statuses = []
        for c in spec.get("containers") or []:
            view = self._view(w, pod, c, containers.get(c["name"]) or [], final=final,
                              default_wait="PodInitializing" if pending else "")
            statuses.append(container_status(pod, c, view, self._image_id))
        if init_failed:
            phase = "Failed"
        elif pending and not final:
            phase = "Pending"
        else:
            phase = pod_phase("Never" if final else policy, statuses)
        if final and phase not in TERMINAL:
            phase = "Failed" if any("terminated" not in (s.get("state") or {})
                                    or s["state"]["terminated"].get("exitCode") for s in statuses
                                    ) else "Succeeded"
        old = pod.get("status") or {}
        conditions = pod_conditions(pod, phase=phase, container_statuses=statuses,
                                    init_complete=not pending, pending_init=pending,
                                    sandbox_ready=sandbox_ready and phase not in TERMINAL,
                                    now=now)
        for cond in conditions:
            if cond["type"] == "Initialized" and cond["status"] == "False":
                cond["message"] = f"containers with incomplete status: [{' '.join(pending)}]"
        status: Obj = {
            "phase": phase,
            "conditions": conditions,
            "hostIP": self.host_ip,
            "hostIPs": [{"ip": self.host_ip}],
            "startTime": old.get("startTime") or format_time(now),
            "containerStatuses": statuses,
        }
        if inits:
            status["initContainerStatuses"] = init_statuses
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
            await nursery.start(self.probes.run)
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
