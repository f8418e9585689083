"""An in-memory ``ObjectSource`` for admission, webhook and allocator tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from k3trio.apiserver.interfaces import AdmissionAttributes, Operation, UserInfo

ADMIN = UserInfo("admin", groups=("system:masters", "system:authenticated"))


class MemoryObjects:
    """Objects keyed by (resource, namespace, name); ``add`` accepts JSON dicts."""

    def __init__(self, *objs: tuple[str, dict[str, Any]]) -> None:
        self._items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._gen: dict[str, int] = {}
        for resource, obj in objs:
            self.add(resource, obj)

    def add(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        self._items[(resource, meta.get("namespace", ""), meta["name"])] = obj
        self._gen[resource] = self._gen.get(resource, 0) + 1
        return obj

    def remove(self, resource: str, namespace: str, name: str) -> None:
        self._items.pop((resource, namespace, name), None)
        self._gen[resource] = self._gen.get(resource, 0) + 1

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._items.get((resource, namespace, name))

    def list(self, resource: str, namespace: str = "") -> Sequence[dict[str, Any]]:
        return [
            obj
            for (res, ns, _), obj in sorted(self._items.items())
            if res == resource and (not namespace or ns == namespace)
        ]

    def generation(self, resource: str) -> int:
        return self._gen.get(resource, 0)


def ns(name: str, phase: str = "Active", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": phase},
    }


def attrs(
    obj: dict[str, Any] | None,
    *,
    op: Operation = Operation.CREATE,
    resource: str = "pods",
    kind: str = "Pod",
    group: str = "",
    version: str = "v1",
    namespace: str | None = None,
    name: str | None = None,
    old: dict[str, Any] | None = None,
    subresource: str = "",
    user: UserInfo = ADMIN,
    dry_run: bool = False,
) -> AdmissionAttributes:
    src = obj if obj is not None else old or {}
    meta = src.get("metadata") or {}
    return AdmissionAttributes(
        operation=op,
        user=user,
        group=group,
        version=version,
        kind=kind,
        resource=resource,
        subresource=subresource,
        namespace=meta.get("namespace", "") if namespace is None else namespace,
        name=meta.get("name", "") if name is None else name,
        obj=obj,
        old=old,
        dry_run=dry_run,
    )
