"""DefaultTolerationSeconds: pods tolerate not-ready/unreachable nodes for 300s by default.

On pod create, unless the pod already tolerates the taint (a toleration whose key is the
taint's or empty, and whose effect is ``NoExecute`` or empty), append::

    {key: node.kubernetes.io/not-ready,   operator: Exists, effect: NoExecute, tolerationSeconds: 300}
    {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
"""

from __future__ import annotations

from k3trio.apiserver.admission._common import is_core
from k3trio.apiserver.interfaces import AdmissionAttributes, Operation

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


class DefaultTolerationSeconds:
    """Mutating plugin. ``not_ready_seconds``/``unreachable_seconds`` are the two flags."""

    name = "DefaultTolerationSeconds"

    def __init__(self, not_ready_seconds: int = 300, unreachable_seconds: int = 300) -> None:
        self._seconds = {NOT_READY: not_ready_seconds, UNREACHABLE: unreachable_seconds}

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return attrs.operation is Operation.CREATE and is_core(attrs, "pods") and attrs.obj is not None

    async def admit(self, attrs: AdmissionAttributes) -> None:
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        tolerations = spec.get("tolerations")
        if not isinstance(tolerations, list):
            tolerations = []
        for key in (NOT_READY, UNREACHABLE):
            tolerated = any(
                isinstance(t, dict)
                and t.get("key", "") in (key, "")
                and t.get("effect", "") in ("NoExecute", "")
                for t in tolerations
            )
            if not tolerated:
                tolerations.append(
                    {
                        "key": key,
                        "operator": "Exists",
                        "effect": "NoExecute",
                        "tolerationSeconds": self._seconds[key],
                    }
                )
        spec["tolerations"] = tolerations
