"""TaintNodesByCondition: a new Node starts tainted ``node.kubernetes.io/not-ready:NoSchedule``.

The node lifecycle controller removes the taint once the node reports Ready, so nothing is
scheduled to a node before its kubelet says it can run pods.
"""

from __future__ import annotations

from k3trio.apiserver.interfaces import AdmissionAttributes, Operation

NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


class TaintNodesByCondition:
    name = "TaintNodesByCondition"

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return (
            attrs.operation is Operation.CREATE
            and attrs.group == ""
            and attrs.resource == "nodes"
            and not attrs.subresource
            and attrs.obj is not None
        )

    async def admit(self, attrs: AdmissionAttributes) -> None:
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        taints = spec.get("taints")
        if not isinstance(taints, list):
            taints = []
        if not any(
            isinstance(t, dict) and t.get("key") == NOT_READY_TAINT["key"] and t.get("effect") == NOT_READY_TAINT["effect"]
            for t in taints
        ):
            taints.append(dict(NOT_READY_TAINT))
        spec["taints"] = taints
