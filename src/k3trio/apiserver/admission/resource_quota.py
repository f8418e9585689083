"""ResourceQuota: refuse a create/update that would push a namespace over a quota.

For each ResourceQuota of the namespace whose scopes select the object and whose
``status.hard`` names a resource this kind uses (see :mod:`.quota_usage`):

1. pods must name ``cpu``/``memory`` requests or limits per container when the quota limits
   them: ``failed quota: q: must specify requests.cpu for: c`` (403);
2. the quota must have usage stats for those resources: ``status unknown for quota: q,
   resources: requests.cpu`` (403);
3. the object's usage (minus the stored object's on update, never below zero; zero entries
   dropped) is added to ``status.used``; if any masked sum exceeds ``status.hard``:
   ``exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`` (403).

As upstream, the new ``used`` is written to the quota's status *before* the object is stored
(so concurrent requests see it); the quota controller later recomputes exact usage and
gives back charges for writes that failed. The write goes through ``write_used`` supplied by
the core: it must replace ``status.used`` with a resourceVersion precondition (an UpdateStatus
that skips admission) and return the stored quota, or raise a 409 ``APIError`` when the
quota changed meanwhile; the check is then re-run on fresh state (a few times).
Evaluations are serialized per namespace, so requests within this process never race.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import trio

from k3trio.api.errors import APIError, InternalError
from k3trio.api.quantity import Quantity
from k3trio.apiserver.admission import quota_usage
from k3trio.apiserver.admission._common import ResourceList, forbidden, pretty, resource_list
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

QuotaWriter = Callable[[dict[str, Any], dict[str, str]], Awaitable[dict[str, Any] | None]]

__all__ = ["QuotaWriter", "ResourceQuotaAdmission", "evaluate"]


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def evaluate(
    attrs: AdmissionAttributes, quotas: Sequence[Mapping[str, Any]], now: datetime | None = None
) -> list[tuple[Mapping[str, Any], ResourceList]]:
    """The pure check: returns (quota, new ``used``) for every quota the request charges.

    Raises:
        Forbidden: a constraint, missing usage stats or an exceeded quota, with upstream text.
    """
    obj = attrs.obj
    if obj is None:
        return []
    interesting: list[tuple[Mapping[str, Any], list[str]]] = []
    for quota in quotas:
        if not quota_usage.quota_matches(quota, attrs.resource, attrs.group, obj):
            continue
        status = quota.get("status") or {}
        hard = resource_list(status.get("hard"))
        restricted = quota_usage.matching_resources(attrs.resource, attrs.group, list(hard))
        if attrs.group == "" and attrs.resource == "pods":
            problem = quota_usage.missing_container_requirements(obj, restricted)
            if problem:
                raise forbidden(attrs, f"failed quota: {_name(quota)}: {problem}")
        used = resource_list(status.get("used"))
        if any(name not in used for name in restricted):
            raise forbidden(
                attrs, f"status unknown for quota: {_name(quota)}, resources: {','.join(sorted(restricted))}"
            )
        if restricted:
            interesting.append((quota, restricted))
    if not interesting:
        return []
    delta = {k: v for k, v in quota_usage.usage(attrs.resource, attrs.group, obj, now).items() if not v.is_zero()}
    if attrs.operation is Operation.UPDATE and attrs.old is not None:
        if (attrs.old.get("metadata") or {}).get("resourceVersion"):
            prev = quota_usage.usage(attrs.resource, attrs.group, attrs.old, now)
            for k in list(delta):
                if k in prev:
                    diff = delta[k] - prev[k]
                    delta[k] = diff if diff.sign() > 0 else Quantity()
        delta = {k: v for k, v in delta.items() if not v.is_zero()}
    if not delta:
        return []
    out: list[tuple[Mapping[str, Any], ResourceList]] = []
    for quota, _ in interesting:
        status = quota.get("status") or {}
        hard = resource_list(status.get("hard"))
        used = resource_list(status.get("used"))
        requested = {k: v for k, v in delta.items() if k in hard}
        if not requested:
            continue
        new_used = dict(used)
        for k, v in requested.items():
            new_used[k] = new_used[k] + v if k in new_used else v
        exceeded = sorted(k for k in requested if hard[k] < new_used[k])
        if exceeded:
            raise forbidden(
                attrs,
                f"exceeded quota: {_name(quota)}, "
                f"requested: {pretty({k: requested[k] for k in exceeded})}, "
                f"used: {pretty({k: used[k] for k in exceeded if k in used})}, "
                f"limited: {pretty({k: hard[k] for k in exceeded})}",
            )
        out.append((quota, new_used))
    return out


class ResourceQuotaAdmission:
    """Validating plugin.

    Args:
        objects: reads ``resourcequotas``.
        write_used: ``async (quota, used) -> stored quota`` writing ``status.used`` with a
            resourceVersion precondition; None only checks (tests, or a read-only setup).
        retries: re-evaluations after a 409 from ``write_used``.
    """

    name = "ResourceQuota"

    def __init__(self, objects: ObjectSource, *, write_used: QuotaWriter | None = None, retries: int = 3) -> None:
        self._objects = objects
        self._write = write_used
        self._retries = retries
        self._locks: dict[str, trio.Lock] = {}
        # Quotas this plugin wrote, until the object source shows that version or a newer one.
        self._recent: dict[tuple[str, str], dict[str, Any]] = {}

    def handles(self, attrs: AdmissionAttributes) -> bool:
        if attrs.obj is None or not attrs.namespace:
            return False
        if attrs.subresource and not (attrs.resource == "pods" and attrs.subresource == "resize"):
            return False
        return attrs.operation in (Operation.CREATE, Operation.UPDATE)

    def quotas(self, namespace: str) -> list[dict[str, Any]]:
        out = []
        for q in self._objects.list("resourcequotas", namespace):
            key = (namespace, _name(q))
            mine = self._recent.get(key)
            if mine is not None:
                if _rv(mine) > _rv(q):
                    q = mine
                else:
                    del self._recent[key]
            out.append(q)
        return sorted(out, key=_name)

    async def validate(self, attrs: AdmissionAttributes) -> None:
        if not self.quotas(attrs.namespace):
            return  # nothing to charge: no need to queue behind the namespace's other writes
        lock = self._locks.setdefault(attrs.namespace, trio.Lock())
        async with lock:
            for _ in range(self._retries + 1):
                charges = evaluate(attrs, self.quotas(attrs.namespace))
                if not charges or attrs.dry_run or self._write is None:
                    return
                try:
                    for quota, used in charges:
                        stored = await self._write(dict(quota), {k: str(v) for k, v in sorted(used.items())})
                        if stored is not None:
                            self._recent[(attrs.namespace, _name(stored))] = stored
                except APIError as exc:
                    if exc.code != 409:
                        raise
                    await trio.sleep(0)
                    continue
                return
            raise InternalError("resource quota evaluation timed out")


def _rv(obj: Mapping[str, Any]) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0
