"""NamespaceLifecycle: no new content in missing or terminating namespaces; immortal ones stay.

Upstream behaviour kept here:
- Deleting ``default``, ``kube-system`` or ``kube-public`` is forbidden (``this namespace may
  not be deleted``).
- Cluster-scoped objects, namespaces themselves, deletions, and access reviews always pass.
- Creating or updating in a namespace that does not exist is ``namespaces "x" not found``
  (404). A create is retried once after a short wait, since the namespace may have been
  created a moment ago and the watch cache not caught up yet.
- Creating in a namespace whose ``status.phase`` is ``Terminating`` is 403 with a
  ``NamespaceTerminating`` cause on ``metadata.namespace``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from k3trio.api.errors import NotFound
from k3trio.apiserver.admission._common import forbidden
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
MISSING_NAMESPACE_WAIT = 0.05
_ACCESS_REVIEWS = {("authorization.k8s.io", "localsubjectaccessreviews")}

LiveGet = Callable[[str], Awaitable[dict[str, Any] | None]]


class NamespaceLifecycle:
    """Validating plugin.

    Args:
        objects: the watch-cache view (``objects.get("namespaces", "", name)``).
        live_get: optional direct read from storage, used as the last resort before a 404,
            as upstream falls back to a live lookup when its cache misses.
    """

    name = "NamespaceLifecycle"

    def __init__(
        self,
        objects: ObjectSource,
        *,
        live_get: LiveGet | None = None,
        immortal: frozenset[str] = IMMORTAL_NAMESPACES,
    ) -> None:
        self._objects = objects
        self._live_get = live_get
        self._immortal = immortal

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return attrs.operation in (Operation.CREATE, Operation.UPDATE, Operation.DELETE)

    async def validate(self, attrs: AdmissionAttributes) -> None:
        is_namespace = attrs.group == "" and attrs.kind == "Namespace" and attrs.resource == "namespaces"
        if is_namespace:
            if attrs.operation is Operation.DELETE and attrs.name in self._immortal:
                raise forbidden(attrs, "this namespace may not be deleted")
            return
        if not attrs.namespace or attrs.operation is Operation.DELETE:
            return
        if (attrs.group, attrs.resource) in _ACCESS_REVIEWS:
            return
        namespace = self._objects.get("namespaces", "", attrs.namespace)
        if namespace is None and attrs.operation is Operation.CREATE:
            await trio.sleep(MISSING_NAMESPACE_WAIT)
            namespace = self._objects.get("namespaces", "", attrs.namespace)
        if namespace is None and self._live_get is not None:
            namespace = await self._live_get(attrs.namespace)
        if namespace is None:
            raise NotFound("namespaces", attrs.namespace)
        if attrs.operation is not Operation.CREATE:
            return
        if (namespace.get("status") or {}).get("phase") != "Terminating":
            return
        err = forbidden(
            attrs,
            f"unable to create new content in namespace {attrs.namespace} because it is being terminated",
        )
        assert err.details is not None
        err.details.causes.append(
            {
                "reason": "NamespaceTerminating",
                "message": f"namespace {attrs.namespace} is being terminated",
                "field": "metadata.namespace",
            }
        )
        raise err
