"""RuntimeClass: a pod's ``runtimeClassName`` brings the class's overhead and scheduling.

Pod create (mutating): the class must exist (``pod rejected: RuntimeClass "x" not found``);
``spec.overhead`` becomes the class's ``overhead.podFixed`` (a different overhead given by the
user is refused); the class's ``scheduling.nodeSelector`` is merged into the pod's (a
conflicting key is refused) and its tolerations are appended when not already present.
Validation: a pod with ``overhead`` needs a RuntimeClass that defines exactly that overhead.
"""

from __future__ import annotations

from typing import Any

from k3trio.apiserver.admission._common import forbidden, resource_list
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

RUNTIME_CLASSES = "runtimeclasses.node.k8s.io"


class RuntimeClassAdmission:
    name = "RuntimeClass"

    def __init__(self, objects: ObjectSource) -> None:
        self._objects = objects

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return (
            attrs.operation is Operation.CREATE
            and attrs.group == ""
            and attrs.resource == "pods"
            and not attrs.subresource
            and attrs.obj is not None
        )

    def _lookup(self, attrs: AdmissionAttributes) -> dict[str, Any] | None:
        assert attrs.obj is not None
        name = (attrs.obj.get("spec") or {}).get("runtimeClassName")
        if not name:
            return None
        rc = self._objects.get(RUNTIME_CLASSES, "", name)
        if rc is None:
            raise forbidden(attrs, f'pod rejected: RuntimeClass "{name}" not found')
        return rc

    async def admit(self, attrs: AdmissionAttributes) -> None:
        rc = self._lookup(attrs)
        if rc is None:
            return
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        fixed = (rc.get("overhead") or {}).get("podFixed")
        if fixed:
            if spec.get("overhead") and resource_list(spec["overhead"]) != resource_list(fixed):
                raise forbidden(attrs, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
            spec["overhead"] = dict(fixed)
        scheduling = rc.get("scheduling") or {}
        selector = scheduling.get("nodeSelector") or {}
        if selector:
            mine = dict(spec.get("nodeSelector") or {})
            for key, value in selector.items():
                if key in mine and mine[key] != value:
                    raise forbidden(
                        attrs,
                        f"conflict: runtimeClass.scheduling.nodeSelector[{key}] = {value}; "
                        f"pod.spec.nodeSelector[{key}] = {mine[key]}",
                    )
                mine[key] = value
            spec["nodeSelector"] = mine
        extra = [t for t in scheduling.get("tolerations") or [] if isinstance(t, dict)]
        if extra:
            tolerations = list(spec.get("tolerations") or [])
            for t in extra:
                if t not in tolerations:
                    tolerations.append(dict(t))
            spec["tolerations"] = tolerations

    async def validate(self, attrs: AdmissionAttributes) -> None:
        assert attrs.obj is not None
        spec = attrs.obj.get("spec") or {}
        rc = self._lookup(attrs)
        overhead = spec.get("overhead")
        if rc is None:
            if overhead:
                raise forbidden(attrs, "pod rejected: Overhead set without corresponding RuntimeClass")
            return
        fixed = (rc.get("overhead") or {}).get("podFixed")
        if overhead and resource_list(overhead) != resource_list(fixed):
            raise forbidden(attrs, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
