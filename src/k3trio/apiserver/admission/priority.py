"""Priority: a pod's ``priorityClassName`` decides its ``priority`` and ``preemptionPolicy``.

Pod create (mutating):
- No class name: the global default class (``globalDefault: true``; the lowest value wins if
  several claim it) gives name and value; with none, priority is 0 and the name stays empty.
- A named class that does not exist: ``no PriorityClass with name x was found`` (403). The two
  system classes resolve even before their objects are stored.
- A ``priority`` or ``preemptionPolicy`` already in the spec must equal the computed one
  (upstream's messages), then both are set.
Pod update: values omitted by the client are carried over from the stored pod.

PriorityClass create/update (validating): only one class may be the global default:
``PriorityClass x is already marked as default. Only one default can exist``.
"""

from __future__ import annotations

from typing import Any

from k3trio.apiserver.admission._common import forbidden, spec_of
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

PRIORITY_CLASSES = "priorityclasses.scheduling.k8s.io"
SYSTEM_PRIORITY_CLASSES: dict[str, int] = {
    "system-node-critical": 2000001000,
    "system-cluster-critical": 2000000000,
}
DEFAULT_PREEMPTION_POLICY = "PreemptLowerPriority"


class PriorityAdmission:
    """Mutating and validating plugin; reads ``priorityclasses.scheduling.k8s.io``."""

    name = "Priority"

    def __init__(self, objects: ObjectSource) -> None:
        self._objects = objects

    def handles(self, attrs: AdmissionAttributes) -> bool:
        if attrs.obj is None or attrs.subresource:
            return False
        if attrs.group == "" and attrs.resource == "pods":
            return attrs.operation in (Operation.CREATE, Operation.UPDATE)
        if attrs.group == "scheduling.k8s.io" and attrs.resource == "priorityclasses":
            return attrs.operation in (Operation.CREATE, Operation.UPDATE)
        return False

    def _class(self, name: str) -> dict[str, Any] | None:
        found = self._objects.get(PRIORITY_CLASSES, "", name)
        if found is None and name in SYSTEM_PRIORITY_CLASSES:
            return {"metadata": {"name": name}, "value": SYSTEM_PRIORITY_CLASSES[name],
                    "preemptionPolicy": DEFAULT_PREEMPTION_POLICY}
        return found

    def default_class(self) -> dict[str, Any] | None:
        best: dict[str, Any] | None = None
        for pc in self._objects.list(PRIORITY_CLASSES):
            if pc.get("globalDefault") and (best is None or int(pc.get("value", 0)) < int(best.get("value", 0))):
                best = pc
        return best

    async def admit(self, attrs: AdmissionAttributes) -> None:
        if attrs.resource != "pods":
            return
        pod = attrs.obj
        assert pod is not None
        spec = pod.setdefault("spec", {})
        if attrs.operation is Operation.UPDATE:
            old = spec_of(attrs.old)
            for key in ("priority", "preemptionPolicy"):
                if spec.get(key) is None and old.get(key) is not None:
                    spec[key] = old[key]
            return
        policy: str | None
        if not spec.get("priorityClassName"):
            pc = self.default_class()
            if pc is None:
                priority, policy = 0, None
            else:
                spec["priorityClassName"] = (pc.get("metadata") or {}).get("name", "")
                priority, policy = int(pc.get("value", 0)), pc.get("preemptionPolicy")
        else:
            pc = self._class(spec["priorityClassName"])
            if pc is None:
                raise forbidden(attrs, f"no PriorityClass with name {spec['priorityClassName']} was found")
            priority, policy = int(pc.get("value", 0)), pc.get("preemptionPolicy")
        given = spec.get("priority")
        if given is not None and given != priority:
            raise forbidden(
                attrs,
                f"the integer value of priority ({given}) must not be provided in pod spec; "
                f"priority admission controller computed {priority} from the given PriorityClass name",
            )
        spec["priority"] = priority
        if policy is not None:
            given_policy = spec.get("preemptionPolicy")
            if given_policy is not None and given_policy != policy:
                raise forbidden(
                    attrs,
                    f"the string value of PreemptionPolicy ({given_policy}) must not be provided in pod "
                    f"spec; priority admission controller computed {policy} from the given PriorityClass name",
                )
            spec["preemptionPolicy"] = policy

    async def validate(self, attrs: AdmissionAttributes) -> None:
        if attrs.resource != "priorityclasses":
            return
        pc = attrs.obj
        assert pc is not None
        if not pc.get("globalDefault"):
            return
        if attrs.operation is Operation.UPDATE and (attrs.old or {}).get("globalDefault"):
            return
        current = self.default_class()
        if current is not None:
            current_name = (current.get("metadata") or {}).get("name", "")
            if current_name != attrs.name:
                raise forbidden(
                    attrs, f"PriorityClass {current_name} is already marked as default. Only one default can exist"
                )
