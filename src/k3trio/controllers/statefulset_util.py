"""Pure StatefulSet rules: identities, claims, retention ownership, pod predicates, status.

- Pod identity: ``<set>-<ordinal>`` for ordinals ``start .. start+replicas-1`` (``spec.ordinals
  .start``, default 0); labels ``statefulset.kubernetes.io/pod-name`` and
  ``apps.kubernetes.io/pod-index``; ``hostname`` = pod name and ``subdomain`` = ``serviceName``
  (set only at creation); ``controller-revision-hash`` = the revision *name*.
- Storage: one PVC per ``volumeClaimTemplates`` entry, ``<template>-<set>-<ordinal>``, labelled
  with the set's ``matchLabels``; the pod's volume of the template's name points at it.
- Retention (``persistentVolumeClaimRetentionPolicy``): ``whenDeleted: Delete`` -> the claim is
  owned by the set (deleted with it by the garbage collector); ``whenScaled: Delete`` -> the
  claim of a pod outside the ordinal range is owned by the pod (deleted after it). Owner
  references added here are plain (not controller) references; a claim controlled by someone
  else is left alone.
- Pod predicates as upstream: *created* (exists), *running and ready*, *available* (ready for
  ``minReadySeconds``), *terminating*, *healthy* (running, ready/available, not terminating).
- ``max_unavailable``: ``rollingUpdate.maxUnavailable`` scaled against replicas rounding down,
  at least 1.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .base import Obj, meta_of
from .podcontrol import controller_of, controller_ref, is_pod_available, is_pod_ready

__all__ = [
    "POD_INDEX_LABEL",
    "POD_NAME_LABEL",
    "REVISION_LABEL",
    "allows_burst",
    "claim_name",
    "claims_for",
    "get_ordinal",
    "identity_matches",
    "is_member_of",
    "max_unavailable",
    "new_pod",
    "pod_revision",
    "retention_policy",
    "start_ordinal",
    "storage_matches",
    "update_claim_owner_refs",
    "update_identity",
    "update_storage",
]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"

_NAME_RE = re.compile(r"^(.*)-([0-9]+)$")


def spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def replicas_of(s: Mapping[str, Any]) -> int:
    value = spec_of(s).get("replicas")
    return 1 if value is None else int(value)


def start_ordinal(s: Mapping[str, Any]) -> int:
    return int((spec_of(s).get("ordinals") or {}).get("start") or 0)


def end_ordinal(s: Mapping[str, Any]) -> int:
    """One past the last ordinal in range."""
    return start_ordinal(s) + replicas_of(s)


def allows_burst(s: Mapping[str, Any]) -> bool:
    return spec_of(s).get("podManagementPolicy") == "Parallel"


def strategy_type(s: Mapping[str, Any]) -> str:
    return str((spec_of(s).get("updateStrategy") or {}).get("type") or "RollingUpdate")


def rolling_update(s: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ru = (spec_of(s).get("updateStrategy") or {}).get("rollingUpdate")
    return ru if isinstance(ru, Mapping) else None


def partition(s: Mapping[str, Any]) -> int:
    ru = rolling_update(s)
    return int((ru or {}).get("partition") or 0)


def min_ready_seconds(s: Mapping[str, Any]) -> int:
    return int(spec_of(s).get("minReadySeconds") or 0)


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent against ``total``."""
    if isinstance(value, str) and value.endswith("%"):
        pct = int(value[:-1])
        raw = pct * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value)


def max_unavailable(s: Mapping[str, Any]) -> int:
    ru = rolling_update(s) or {}
    value = ru.get("maxUnavailable")
    n = scaled_value(1 if value is None else value, replicas_of(s), False)
    return max(n, 1)


# -- identity ----------------------------------------------------------------------------------


def parent_and_ordinal(pod: Mapping[str, Any]) -> tuple[str, int]:
    m = _NAME_RE.match(str(meta_of(pod).get("name") or ""))
    if not m:
        return "", -1
    return m.group(1), int(m.group(2))


def get_ordinal(pod: Mapping[str, Any]) -> int:
    return parent_and_ordinal(pod)[1]


def pod_name(s: Mapping[str, Any], ordinal: int) -> str:
    return f"{meta_of(s).get('name')}-{ordinal}"


def is_member_of(s: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    return parent_and_ordinal(pod)[0] == meta_of(s).get("name")


def in_ordinal_range(s: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    o = get_ordinal(pod)
    return start_ordinal(s) <= o < end_ordinal(s)


def pod_revision(pod: Mapping[str, Any]) -> str:
    return str((meta_of(pod).get("labels") or {}).get(REVISION_LABEL) or "")


def identity_matches(s: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    parent, ordinal = parent_and_ordinal(pod)
    pmeta = meta_of(pod)
    lab = pmeta.get("labels") or {}
    return (ordinal >= 0 and parent == meta_of(s).get("name")
            and pmeta.get("name") == pod_name(s, ordinal)
            and pmeta.get("namespace") == meta_of(s).get("namespace")
            and lab.get(POD_NAME_LABEL) == pmeta.get("name")
            and lab.get(POD_INDEX_LABEL) == str(ordinal))


def update_identity(s: Mapping[str, Any], pod: Obj, ordinal: int) -> None:
    meta = pod.setdefault("metadata", {})
    meta["name"] = pod_name(s, ordinal)
    meta.pop("generateName", None)
    meta["namespace"] = meta_of(s).get("namespace")
    lab = meta.setdefault("labels", {})
    lab[POD_NAME_LABEL] = meta["name"]
    lab[POD_INDEX_LABEL] = str(ordinal)


# -- storage -----------------------------------------------------------------------------------


def claim_name(s: Mapping[str, Any], template_name: str, ordinal: int) -> str:
    return f"{template_name}-{meta_of(s).get('name')}-{ordinal}"


def claims_for(s: Mapping[str, Any], ordinal: int) -> dict[str, Obj]:
    """The PVCs pod ``ordinal`` needs, by template name (unwritten objects)."""
    match = dict((spec_of(s).get("selector") or {}).get("matchLabels") or {})
    out: dict[str, Obj] = {}
    for tmpl in spec_of(s).get("volumeClaimTemplates") or []:
        tname = str(meta_of(tmpl).get("name") or "")
        claim = copy.deepcopy(dict(tmpl))
        meta = dict(claim.get("metadata") or {})
        meta["name"] = claim_name(s, tname, ordinal)
        meta["namespace"] = meta_of(s).get("namespace")
        meta["labels"] = {**(meta.get("labels") or {}), **match}
        for f in ("uid", "resourceVersion", "creationTimestamp", "generation",
                  "managedFields", "ownerReferences"):
            meta.pop(f, None)
        claim["metadata"] = meta
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        claim.pop("status", None)
        out[tname] = claim
    return out


def storage_matches(s: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    ordinal = get_ordinal(pod)
    if ordinal < 0:
        return False
    volumes = {v.get("name"): v for v in spec_of(pod).get("volumes") or []}
    for tname, claim in claims_for(s, ordinal).items():
        vol = volumes.get(tname)
        if vol is None or (vol.get("persistentVolumeClaim") or {}).get("claimName") \
                != meta_of(claim)["name"]:
            return False
    return True


def update_storage(s: Mapping[str, Any], pod: Obj, ordinal: int) -> None:
    """Point the pod's template-named volumes at its claims (replacing same-named volumes)."""
    claims = claims_for(s, ordinal)
    if not claims:
        return
    spec = pod.setdefault("spec", {})
    vols = [v for v in spec.get("volumes") or [] if v.get("name") not in claims]
    for tname, claim in claims.items():
        vols.append({"name": tname, "persistentVolumeClaim": {
            "claimName": meta_of(claim)["name"]}})
    spec["volumes"] = vols


def new_pod(s: Mapping[str, Any], ordinal: int, revision: str) -> Obj:
    """The pod of ``ordinal`` from ``s``'s template (upstream ``newStatefulSetPod``)."""
    template = spec_of(s).get("template") or {}
    tmeta = meta_of(template)
    meta: Obj = {"labels": dict(tmeta.get("labels") or {}),
                 "ownerReferences": [controller_ref(s)]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    pod: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": copy.deepcopy(dict(template.get("spec") or {}))}
    update_identity(s, pod, ordinal)
    pod["spec"]["hostname"] = meta["name"]
    if spec_of(s).get("serviceName"):
        pod["spec"]["subdomain"] = spec_of(s)["serviceName"]
    update_storage(s, pod, ordinal)
    if revision:
        meta["labels"][REVISION_LABEL] = revision
    return pod


# -- retention ---------------------------------------------------------------------------------


def retention_policy(s: Mapping[str, Any]) -> tuple[str, str]:
    """``(whenDeleted, whenScaled)``, each ``Retain`` or ``Delete``."""
    p = spec_of(s).get("persistentVolumeClaimRetentionPolicy") or {}
    return str(p.get("whenDeleted") or "Retain"), str(p.get("whenScaled") or "Retain")


def _plain_ref(owner: Mapping[str, Any], api_version: str, kind: str) -> Obj:
    return {"apiVersion": str(owner.get("apiVersion") or api_version),
            "kind": str(owner.get("kind") or kind),
            "name": str(meta_of(owner).get("name") or ""),
            "uid": str(meta_of(owner).get("uid") or "")}


def update_claim_owner_refs(claim: Obj, s: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """Set ``claim``'s owner references for the retention policy; True if they changed."""
    meta = claim.setdefault("metadata", {})
    refs: list[Obj] = [dict(r) for r in meta.get("ownerReferences") or []]
    set_uid, pod_uid = meta_of(s).get("uid"), meta_of(pod).get("uid")
    ctl = controller_of(claim)
    if ctl is not None and ctl.get("uid") not in (set_uid, pod_uid):
        return False  # controlled by someone else: not ours to change
    before = [dict(r) for r in refs]

    def has(uid: Any) -> bool:
        return bool(uid) and any(r.get("uid") == uid for r in refs)

    def add(owner: Mapping[str, Any], api_version: str, kind: str) -> None:
        if meta_of(owner).get("uid") and not has(meta_of(owner).get("uid")):
            refs.append(_plain_ref(owner, api_version, kind))

    def remove(uid: Any) -> None:
        refs[:] = [r for r in refs if r.get("uid") != uid]

    when_deleted, when_scaled = retention_policy(s)
    scaled_down = not in_ordinal_range(s, pod)
    if when_scaled == "Delete" and scaled_down:
        remove(set_uid)
        add(pod, "v1", "Pod")
    else:
        remove(pod_uid)
        if when_deleted == "Delete":
            add(s, "apps/v1", "StatefulSet")
        else:
            remove(set_uid)
    if refs == before:
        return False
    if refs:
        meta["ownerReferences"] = refs
    else:
        meta.pop("ownerReferences", None)
    return True


def has_stale_owner_ref(claim: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """A reference to a pod of the same name but another (or no) UID: a leftover claim."""
    name, uid = meta_of(pod).get("name"), meta_of(pod).get("uid")
    return any(r.get("kind") == "Pod" and r.get("name") == name and r.get("uid") != uid
               for r in meta_of(claim).get("ownerReferences") or [])


# -- predicates --------------------------------------------------------------------------------


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminating(pod: Mapping[str, Any]) -> bool:
    return bool(meta_of(pod).get("deletionTimestamp"))


def is_running_and_ready(pod: Mapping[str, Any]) -> bool:
    return phase(pod) == "Running" and is_pod_ready(pod)


def is_running_and_available(pod: Mapping[str, Any], min_ready: int, now: datetime) -> bool:
    return phase(pod) == "Running" and is_pod_available(pod, min_ready, now)


def is_healthy(pod: Mapping[str, Any], min_ready: int, now: datetime) -> bool:
    return is_running_and_available(pod, min_ready, now) and not is_terminating(pod)


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return phase(pod) in ("Failed", "Succeeded")


# -- status ------------------------------------------------------------------------------------


def replica_status(pods: list[Obj], min_ready: int, now: datetime, current: str,
                   update: str) -> dict[str, int]:
    """``replicas``/``readyReplicas``/``availableReplicas``/``currentReplicas``/
    ``updatedReplicas`` of the set's pods (upstream ``computeReplicaStatus``)."""
    st = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0,
          "updatedReplicas": 0}
    for pod in pods:
        st["replicas"] += 1
        if is_running_and_ready(pod):
            st["readyReplicas"] += 1
            if is_running_and_available(pod, min_ready, now):
                st["availableReplicas"] += 1
        if not is_terminating(pod):
            rev = pod_revision(pod)
            if rev == current:
                st["currentReplicas"] += 1
            if rev == update:
                st["updatedReplicas"] += 1
    return st


def complete_rolling_update(s: Mapping[str, Any], status: Obj) -> None:
    """A finished RollingUpdate makes the update revision current."""
    if (strategy_type(s) == "RollingUpdate"
            and status.get("updatedReplicas", 0) == status.get("replicas", 0)
            and status.get("readyReplicas", 0) == status.get("replicas", 0)):
        status["currentReplicas"] = status.get("updatedReplicas", 0)
        status["currentRevision"] = status.get("updateRevision", "")


STATUS_FIELDS = ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
                 "availableReplicas", "currentRevision", "updateRevision", "collisionCount",
                 "observedGeneration")


def status_differs(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    def norm(v: Any) -> Any:
        return v if v not in (None, "", 0) else None
    return any(norm(old.get(f)) != norm(new.get(f)) for f in STATUS_FIELDS)


def newest_first(pods: list[Obj], key: Callable[[Obj], int] = get_ordinal) -> list[Obj]:
    return sorted(pods, key=key, reverse=True)
