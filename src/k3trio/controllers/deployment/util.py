"""Pure Deployment arithmetic: hashes, annotations, replica budgets, conditions, status.

Everything here is a function of plain objects (dicts as the API returns them) and, where
time matters, an explicit ``now``; the controller in ``controller.py`` does the I/O.

- ``compute_hash(template, collision_count)``: the ``pod-template-hash`` label value, FNV-32a
  over the template (canonical JSON here) followed by the collision count as 4 little-endian
  bytes, the decimal digest re-spelled with the safe alphabet ``bcdfghjklmnpqrstvwxz2456789``
  (no vowels, no ambiguous characters), so it is a valid label value and name suffix;
- ``resolve_fenceposts`` / ``max_surge`` / ``max_unavailable``: ``maxSurge`` rounds percentages
  up, ``maxUnavailable`` rounds them down, and both zero means ``maxUnavailable`` 1;
- the annotations ``deployment.kubernetes.io/revision``, ``revision-history``,
  ``desired-replicas`` and ``max-replicas`` that ``kubectl rollout`` reads;
- ``calculate_status`` and the ``Available``/``Progressing`` condition rules.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ...api.meta import parse_time
from ..base import Obj, meta_of

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
POD_TEMPLATE_HASH = "pod-template-hash"
SKIP_COPY = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                       ROLLBACK_TO})
MAX_INT32 = 2**31 - 1

# Condition types and reasons (upstream deployment_util.go).
AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_CREATED = "NewReplicaSetCreated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# -- hashing -----------------------------------------------------------------------------------


def fnv32a(data: bytes, h: int = 0x811C9DC5) -> int:
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in text)


def compute_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    h = fnv32a(data)
    if collision_count is not None:
        h = fnv32a(int(collision_count & 0xFFFFFFFF).to_bytes(4, "little"), h)
    return safe_encode(str(h))


def _prune(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Pod templates equal apart from the ``pod-template-hash`` label (and empty fields)."""
    a2, b2 = copy.deepcopy(dict(a)), copy.deepcopy(dict(b))
    for t in (a2, b2):
        (t.get("metadata") or {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
    same: bool = _prune(a2) == _prune(b2)
    return same


# -- accessors ---------------------------------------------------------------------------------


def spec_replicas(obj: Mapping[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Mapping[str, Any] | None, field: str) -> int:
    if obj is None:
        return 0
    return int((obj.get("status") or {}).get(field) or 0)


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict(meta_of(obj).get("annotations") or {})


def revision(obj: Mapping[str, Any]) -> int:
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: Iterable[Mapping[str, Any]]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def is_rolling(d: Mapping[str, Any]) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") \
        == "RollingUpdate"


def _scaled(value: Any, total: int, round_up: bool, default: str) -> int:
    if value is None:
        value = default
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        pct = int(text[:-1])
        return math.ceil(pct * total / 100) if round_up else math.floor(pct * total / 100)
    return int(text)


def resolve_fenceposts(max_surge_v: Any, max_unavail_v: Any, desired: int) -> tuple[int, int]:
    surge = _scaled(max_surge_v, desired, True, "25%")
    unavailable = _scaled(max_unavail_v, desired, False, "25%")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: Mapping[str, Any]) -> tuple[Any, Any]:
    ru = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return ru.get("maxSurge"), ru.get("maxUnavailable")


def max_surge(d: Mapping[str, Any]) -> int:
    if not is_rolling(d):
        return 0
    return resolve_fenceposts(*_rolling_params(d), spec_replicas(d))[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    replicas = spec_replicas(d)
    if not is_rolling(d) or replicas == 0:
        return 0
    unavailable = resolve_fenceposts(*_rolling_params(d), replicas)[1]
    return min(unavailable, replicas)


# -- replica set sets --------------------------------------------------------------------------


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first (ties by name)."""
    return sorted(rss, key=lambda rs: (str(meta_of(rs).get("creationTimestamp") or ""),
                                       str(meta_of(rs).get("name") or "")))


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and spec_replicas(rs) > 0]


def replica_count(rss: Iterable[Obj | None]) -> int:
    return sum(spec_replicas(rs) for rs in rss if rs is not None)


def actual_count(rss: Iterable[Obj | None], field: str = "replicas") -> int:
    return sum(status_int(rs, field) for rs in rss if rs is not None)


def find_new(d: Mapping[str, Any], rss: list[Obj]) -> Obj | None:
    template = (d.get("spec") or {}).get("template") or {}
    for rs in by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template):
            return rs
    return None


def find_old(d: Mapping[str, Any], rss: list[Obj]) -> tuple[Obj | None, list[Obj]]:
    new = find_new(d, rss)
    uid = meta_of(new).get("uid") if new else None
    return new, [rs for rs in rss if new is None or meta_of(rs).get("uid") != uid]


def find_active_or_latest(new: Obj | None, old: list[Obj]) -> Obj | None:
    if new is None and not old:
        return None
    old_sorted = list(reversed(by_creation(old)))
    live = active([*old_sorted, new])
    if not live:
        return new if new is not None else old_sorted[0]
    if len(live) == 1:
        return live[0]
    return None


def new_rs_new_replicas(d: Mapping[str, Any], all_rss: list[Obj | None], new: Obj) -> int:
    if not is_rolling(d):
        return spec_replicas(d)
    current = replica_count(all_rss)
    max_total = spec_replicas(d) + max_surge(d)
    if current >= max_total:
        return spec_replicas(new)
    up = min(max_total - current, spec_replicas(d) - spec_replicas(new))
    return spec_replicas(new) + up


def is_saturated(d: Mapping[str, Any], rs: Obj | None) -> bool:
    if rs is None:
        return False
    try:
        desired = int(annotations_of(rs).get(DESIRED_REPLICAS, ""))
    except ValueError:
        return False
    replicas = spec_replicas(d)
    return (spec_replicas(rs) == replicas and desired == replicas
            and status_int(rs, "availableReplicas") == replicas)


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def proportion(rs: Obj | None, d: Mapping[str, Any], to_add: int, added: int) -> int:
    """How many of ``to_add`` replicas ``rs`` gets in a proportional scale (GetProportion)."""
    if rs is None or spec_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    replicas = spec_replicas(d)
    if replicas == 0:
        fraction = -spec_replicas(rs)
    else:
        total = replicas + max_surge(d)
        try:
            annotated = int(annotations_of(rs)[MAX_REPLICAS])
        except (KeyError, ValueError):
            annotated = status_int(d, "replicas")
        if annotated == 0:
            fraction = 0
        else:
            fraction = _round_half_away(spec_replicas(rs) * total / annotated) - spec_replicas(rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# -- annotations -------------------------------------------------------------------------------


def replicas_annotations_need_update(rs: Mapping[str, Any], desired: int, max_r: int) -> bool:
    ann = annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(max_r)


def set_replicas_annotations(rs: Obj, desired: int, max_r: int) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for k, v in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(max_r))):
        if ann.get(k) != v:
            ann[k] = v
            changed = True
    return changed


def copy_annotations(d: Mapping[str, Any], rs: Obj) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for k, v in annotations_of(d).items():
        if k in SKIP_COPY or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    return changed


def set_new_rs_annotations(d: Mapping[str, Any], rs: Obj, new_revision: int, exists: bool,
                           history_limit_chars: int = 2000) -> bool:
    """Copy the deployment's annotations and bump the revision (SetNewReplicaSetAnnotations)."""
    changed = copy_annotations(d, rs)
    ann = rs["metadata"]["annotations"]
    old = ann.get(REVISION, "")
    try:
        old_int = int(old) if old else 0
    except ValueError:
        return changed
    if old_int < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old:
            history = ann.get(REVISION_HISTORY, "")
            history = f"{history},{old}" if history else old
            while len(history) > history_limit_chars and "," in history:
                history = history.split(",", 1)[1]
            ann[REVISION_HISTORY] = history
    if not exists and set_replicas_annotations(rs, spec_replicas(d),
                                               spec_replicas(d) + max_surge(d)):
        changed = True
    return changed


# -- conditions and status ---------------------------------------------------------------------


def fmt_time(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_condition(ctype: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    t = fmt_time(now)
    return {"type": ctype, "status": status, "lastUpdateTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message}


def get_condition(status: Mapping[str, Any], ctype: str) -> Obj | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def set_condition(status: Obj, cond: Obj) -> None:
    """Set ``cond`` unless an equal status+reason exists; keep the transition time on same
    status (SetDeploymentCondition)."""
    current = get_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] \
            and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    rest = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]]
    status["conditions"] = [*rest, cond]


def remove_condition(status: Obj, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def progress_deadline(d: Mapping[str, Any]) -> int | None:
    value = (d.get("spec") or {}).get("progressDeadlineSeconds")
    if value is None or int(value) == MAX_INT32:
        return None
    return int(value)


def calculate_status(all_rss: list[Obj | None], new: Obj | None, d: Mapping[str, Any],
                     now: datetime) -> Obj:
    available = actual_count(all_rss, "availableReplicas")
    total = replica_count(all_rss)
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": int(meta_of(d).get("generation") or 0),
        "replicas": actual_count(all_rss),
        "updatedReplicas": actual_count([new]),
        "readyReplicas": actual_count(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0),
        "terminatingReplicas": actual_count(all_rss, "terminatingReplicas"),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = [dict(c) for c in old["conditions"]]
    if available >= spec_replicas(d) - max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", MIN_AVAILABLE,
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", MIN_UNAVAILABLE,
                                            "Deployment does not have minimum availability.",
                                            now))
    return status


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    r = spec_replicas(d)
    return (int(status.get("updatedReplicas") or 0) == r and int(status.get("replicas") or 0) == r
            and int(status.get("availableReplicas") or 0) == r
            and int(status.get("observedGeneration") or 0) >= int(meta_of(d).get("generation") or 0))


def deployment_progressing(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    old = d.get("status") or {}

    def g(s: Mapping[str, Any], f: str) -> int:
        return int(s.get(f) or 0)

    old_old = g(old, "replicas") - g(old, "updatedReplicas")
    new_old = g(status, "replicas") - g(status, "updatedReplicas")
    return (g(status, "updatedReplicas") > g(old, "updatedReplicas") or new_old < old_old
            or g(status, "readyReplicas") > g(old, "readyReplicas")
            or g(status, "availableReplicas") > g(old, "availableReplicas"))


def deployment_timed_out(d: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> bool:
    deadline = progress_deadline(d)
    if deadline is None:
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    try:
        since = parse_time(str(cond.get("lastUpdateTime") or ""))
    except ValueError:
        return False
    return since + timedelta(seconds=deadline) < now


def replica_failure_condition(rs: Mapping[str, Any] | None) -> Obj | None:
    """A deployment ReplicaFailure condition mirroring the new RS's (if any)."""
    if rs is None:
        return None
    cond = get_condition(rs.get("status") or {}, REPLICA_FAILURE)
    if cond is None:
        return None
    return {"type": REPLICA_FAILURE, "status": cond.get("status"),
            "lastUpdateTime": cond.get("lastTransitionTime"),
            "lastTransitionTime": cond.get("lastTransitionTime"),
            "reason": cond.get("reason"), "message": cond.get("message")}


def status_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def norm(s: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if v not in (0, None, [], {})}

    return norm(a) == norm(b)
