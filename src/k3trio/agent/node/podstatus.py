"""Pod status as a kubelet writes it: conditions and container statuses. Pure.

Conditions, in the order a v1.36 kubelet lists them::

    PodReadyToStartContainers  True once the sandbox and its network are up; False after the
                               pod is terminal (the sandbox is gone)
    Initialized                True when every init container completed (reason PodCompleted
                               for a Succeeded pod); False ContainersNotInitialized otherwise
    Ready                      ContainersReady plus readiness gates; reasons ContainersNotReady,
                               ReadinessGatesNotReady, PodCompleted, PodFailed
    ContainersReady            True when every container is ready; reasons as Ready
    PodScheduled               True

Conditions the kubelet does not own (e.g. ``DisruptionTarget``) are kept in front, as
upstream's ``generateAPIPodStatus`` keeps them. Invariant: ``lastTransitionTime`` is kept from
the previous status when a condition's status did not change, else it is ``now``.

Container statuses have upstream's shape: ``containerID`` (``containerd://<64 hex>``),
``image`` (normalised: ``nginx`` -> ``docker.io/library/nginx:latest``), ``imageID``,
``lastState``, ``name``, ``ready``, ``restartCount``, ``started``, ``state``, ``user`` and
``volumeMounts``, plus ``resources``/``allocatedResources`` when the container sets them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ...api.meta import format_time

__all__ = [
    "KUBELET_CONDITIONS",
    "container_user",
    "normalize_image",
    "pod_conditions",
    "running_container_status",
    "terminated_container_status",
    "volume_mounts_status",
    "waiting_container_status",
]

Obj = dict[str, Any]

KUBELET_CONDITIONS = (
    "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled",
)


def normalize_image(ref: str) -> str:
    """The fully qualified image reference containerd reports (``docker.io/library/x:latest``)."""
    name, digest = (ref.split("@", 1) + [""])[:2]
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if digest:
        return f"{name}@{digest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def container_user(pod: Mapping[str, Any], container: Mapping[str, Any]) -> Obj:
    """``status.containerStatuses[].user``: the identity the process runs with."""
    psc = _get(pod, "spec", "securityContext") or {}
    csc = container.get("securityContext") or {}
    uid = csc.get("runAsUser", psc.get("runAsUser", 0)) or 0
    gid = csc.get("runAsGroup", psc.get("runAsGroup", 0)) or 0
    groups = {int(gid)}
    groups.update(int(g) for g in psc.get("supplementalGroups") or [])
    if psc.get("fsGroup") is not None:
        groups.add(int(psc["fsGroup"]))
    return {"linux": {"uid": int(uid), "gid": int(gid), "supplementalGroups": sorted(groups)}}


def volume_mounts_status(container: Mapping[str, Any]) -> list[Obj]:
    out: list[Obj] = []
    for m in container.get("volumeMounts") or []:
        entry: Obj = {"name": m.get("name"), "mountPath": m.get("mountPath")}
        if m.get("readOnly"):
            entry["readOnly"] = True
            entry["recursiveReadOnly"] = "Disabled"
        out.append(entry)
    return out


def _base(pod: Mapping[str, Any], container: Mapping[str, Any], image_id: str,
          container_id: str | None, restart_count: int, last_state: Obj | None) -> Obj:
    status: Obj = {
        "name": container.get("name"),
        "image": normalize_image(str(container.get("image") or "")),
        "imageID": image_id,
        "lastState": last_state or {},
        "ready": False,
        "restartCount": restart_count,
        "started": False,
    }
    if container_id:
        status["containerID"] = container_id
    resources = container.get("resources") or {}
    if resources.get("requests") or resources.get("limits"):
        status["resources"] = {k: dict(v) for k, v in resources.items()
                               if k in ("requests", "limits") and v}
        if resources.get("requests"):
            status["allocatedResources"] = dict(resources["requests"])
    if container_id:
        status["user"] = container_user(pod, container)
    mounts = volume_mounts_status(container)
    if mounts:
        status["volumeMounts"] = mounts
    return status


def waiting_container_status(
    pod: Mapping[str, Any], container: Mapping[str, Any], *,
    reason: str = "ContainerCreating", message: str = "",
    restart_count: int = 0, last_state: Obj | None = None, container_id: str | None = None,
) -> Obj:
    status = _base(pod, container, "", container_id, restart_count, last_state)
    status["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
    return status


def running_container_status(
    pod: Mapping[str, Any], container: Mapping[str, Any], *,
    container_id: str, image_id: str, started_at: datetime, ready: bool = True,
    restart_count: int = 0, last_state: Obj | None = None,
) -> Obj:
    status = _base(pod, container, image_id, container_id, restart_count, last_state)
    status["ready"] = ready
    status["started"] = True
    status["state"] = {"running": {"startedAt": format_time(started_at)}}
    return status


def terminated_state(container_id: str, exit_code: int, started_at: datetime,
                     finished_at: datetime, reason: str | None = None) -> Obj:
    return {"terminated": {
        "containerID": container_id,
        "exitCode": exit_code,
        "finishedAt": format_time(finished_at),
        "reason": reason or ("Completed" if exit_code == 0 else "Error"),
        "startedAt": format_time(started_at),
    }}


def terminated_container_status(
    pod: Mapping[str, Any], container: Mapping[str, Any], *,
    container_id: str, image_id: str, exit_code: int, started_at: datetime,
    finished_at: datetime, reason: str | None = None, restart_count: int = 0,
    last_state: Obj | None = None, ready: bool = False,
) -> Obj:
    status = _base(pod, container, image_id, container_id, restart_count, last_state)
    status["ready"] = ready
    status["state"] = terminated_state(container_id, exit_code, started_at, finished_at, reason)
    return status


def _unready_message(names: Sequence[str], what: str) -> str:
    return f"{what} with unready status: [{' '.join(names)}]"


def pod_conditions(
    pod: Mapping[str, Any],
    *,
    phase: str,
    container_statuses: Sequence[Mapping[str, Any]],
    init_complete: bool = True,
    pending_init: Sequence[str] = (),
    sandbox_ready: bool = True,
    now: datetime,
) -> list[Obj]:
    """The pod's conditions for a status with ``phase`` and these container statuses."""
    old = _get(pod, "status", "conditions") or []
    previous = {c.get("type"): c for c in old}
    generation = _get(pod, "metadata", "generation")
    stamp = format_time(now)

    def cond(ctype: str, ok: bool, reason: str = "", message: str = "") -> Obj:
        status = "True" if ok else "False"
        prev = previous.get(ctype) or {}
        same = prev.get("status") == status and prev.get("lastTransitionTime")
        out: Obj = {"type": ctype, "status": status}
        if generation is not None:
            out["observedGeneration"] = generation
        out["lastProbeTime"] = None
        out["lastTransitionTime"] = prev["lastTransitionTime"] if same else stamp
        if reason:
            out["reason"] = reason
        if message:
            out["message"] = message
        return out

    conditions: list[Obj] = [dict(c) for c in old if c.get("type") not in KUBELET_CONDITIONS]
    conditions.append(cond("PodReadyToStartContainers", sandbox_ready))
    if phase == "Succeeded":
        conditions.append(cond("Initialized", True, "PodCompleted"))
    elif init_complete:
        conditions.append(cond("Initialized", True))
    else:
        conditions.append(cond("Initialized", False, "ContainersNotInitialized",
                               _unready_message(pending_init, "containers")))
    if phase in ("Succeeded", "Failed"):
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        containers_ready = cond("ContainersReady", False, reason)
        ready = cond("Ready", False, reason)
    else:
        names = [str(c.get("name")) for c in (_get(pod, "spec", "containers") or [])]
        ready_names = {c.get("name") for c in container_statuses if c.get("ready")}
        unready = [n for n in names if n not in ready_names]
        if unready:
            containers_ready = cond("ContainersReady", False, "ContainersNotReady",
                                    _unready_message(unready, "containers"))
            ready = cond("Ready", False, "ContainersNotReady",
                         _unready_message(unready, "containers"))
        else:
            containers_ready = cond("ContainersReady", True)
            ready = _readiness_gates(pod, cond)
    conditions.append(ready)
    conditions.append(containers_ready)
    conditions.append(cond("PodScheduled", True))
    return conditions


def _readiness_gates(pod: Mapping[str, Any], cond: Callable[..., Obj]) -> Obj:
    gates = [g.get("conditionType") for g in _get(pod, "spec", "readinessGates") or []]
    conds = {c.get("type"): c for c in _get(pod, "status", "conditions") or []}
    for gate in gates:
        c = conds.get(gate)
        if c is None:
            return cond("Ready", False, "ReadinessGatesNotReady",
                        f'corresponding condition of pod readiness gate "{gate}" does not exist.')
        if c.get("status") != "True":
            return cond("Ready", False, "ReadinessGatesNotReady",
                        f'the status of pod readiness gate "{gate}" is not "True", but '
                        f'{c.get("status")}')
    return cond("Ready", True)
