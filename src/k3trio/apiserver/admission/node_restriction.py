"""NodeRestriction: a kubelet (``system:node:<name>`` in ``system:nodes``) may only touch its own.

K3s enables this plugin. Other users are not affected. For a node user:
- nodes: only its own Node; on create it may not set labels outside the kubelet's set, on
  update it may not change taints or such labels (``node "a" is not allowed to modify
  taints``, ``... to set the following labels: x``, ``... to modify labels: x``).
- pods: create only mirror pods bound to itself, owned by its Node object and referencing
  no service account, secret, config map or claim; delete and status-update/evict only pods
  bound to itself.
- leases (``coordination.k8s.io``): only ``kube-node-lease/<its name>``.
- csinodes (``storage.k8s.io``): only its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from k3trio.api.errors import NotFound
from k3trio.apiserver.admission._common import MIRROR_POD_ANNOTATION, annotations_of, forbidden, spec_of
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation, UserInfo

NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
NODE_LEASE_NAMESPACE = "kube-node-lease"
_KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
    "beta.kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
})  # fmt: skip
_KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def node_name_of(user: UserInfo) -> tuple[bool, str]:
    """(is a node, node name); a node user whose name has no node part gives (True, "")."""
    if NODES_GROUP not in user.groups:
        return False, ""
    if not user.name.startswith(NODE_USER_PREFIX):
        return False, ""
    return True, user.name[len(NODE_USER_PREFIX):]


def _label_namespace(label: str) -> str:
    return label.split("/", 1)[0] if "/" in label else ""


def _in_namespace(ns: str, domain: str) -> bool:
    return ns == domain or ns.endswith("." + domain)


def is_kubelet_label(label: str) -> bool:
    if label in _KUBELET_LABELS:
        return True
    ns = _label_namespace(label)
    return any(_in_namespace(ns, d) for d in _KUBELET_LABEL_NAMESPACES)


def forbidden_labels(labels: set[str]) -> list[str]:
    out = set()
    for label in labels:
        ns = _label_namespace(label)
        if _in_namespace(ns, "node-restriction.kubernetes.io"):
            out.add(label)
        if (_in_namespace(ns, "kubernetes.io") or _in_namespace(ns, "k8s.io")) and not is_kubelet_label(label):
            out.add(label)
    return sorted(out)


def _modified_labels(new: Mapping[str, Any], old: Mapping[str, Any]) -> set[str]:
    return {k for k in set(new) | set(old) if new.get(k) != old.get(k)}


def _labels(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


class NodeRestriction:
    """Validating plugin; reads ``pods`` and ``nodes`` for the checks that need stored state."""

    name = "NodeRestriction"

    def __init__(self, objects: ObjectSource) -> None:
        self._objects = objects

    def handles(self, attrs: AdmissionAttributes) -> bool:
        if not node_name_of(attrs.user)[0]:
            return False
        return (attrs.group, attrs.resource) in {
            ("", "nodes"), ("", "pods"), ("coordination.k8s.io", "leases"), ("storage.k8s.io", "csinodes"),
        }  # fmt: skip

    async def validate(self, attrs: AdmissionAttributes) -> None:
        _, node = node_name_of(attrs.user)
        if not node:
            raise forbidden(attrs, f'could not determine node from user "{attrs.user.name}"')
        if attrs.resource == "nodes":
            self._node(attrs, node)
        elif attrs.resource == "pods":
            self._pod(attrs, node)
        elif attrs.resource == "leases":
            if attrs.namespace != NODE_LEASE_NAMESPACE:
                raise forbidden(attrs, f'can only access leases in the "{NODE_LEASE_NAMESPACE}" namespace')
            if self._target_name(attrs) != node:
                raise forbidden(attrs, "can only access node lease with the same name as the requesting node")
        elif attrs.resource == "csinodes":
            target = self._target_name(attrs)
            if target != node:
                raise forbidden(attrs, f'node "{node}" is not allowed to modify CSINode "{target}"')

    @staticmethod
    def _target_name(attrs: AdmissionAttributes) -> str:
        if attrs.name:
            return attrs.name
        return str(((attrs.obj or {}).get("metadata") or {}).get("name", ""))

    def _node(self, attrs: AdmissionAttributes, node: str) -> None:
        target = self._target_name(attrs)
        if target != node:
            raise forbidden(attrs, f'node "{node}" is not allowed to modify node "{target}"')
        if attrs.subresource:
            return
        if attrs.operation is Operation.CREATE and attrs.obj is not None:
            if spec_of(attrs.obj).get("configSource") is not None:
                raise forbidden(attrs, f'node "{node}" is not allowed to create pods with a non-nil configSource')
            bad = forbidden_labels(set(_labels(attrs.obj)))
            if bad:
                raise forbidden(attrs, f'node "{node}" is not allowed to set the following labels: {", ".join(bad)}')
        if attrs.operation is Operation.UPDATE and attrs.obj is not None and attrs.old is not None:
            new, old = spec_of(attrs.obj), spec_of(attrs.old)
            if new.get("configSource") is not None and new.get("configSource") != old.get("configSource"):
                raise forbidden(attrs, f'node "{node}" is not allowed to update configSource to a new non-nil configSource')
            if (new.get("taints") or []) != (old.get("taints") or []):
                raise forbidden(attrs, f'node "{node}" is not allowed to modify taints')
            bad = forbidden_labels(_modified_labels(_labels(attrs.obj), _labels(attrs.old)))
            if bad:
                raise forbidden(attrs, f'node "{node}" is not allowed to modify labels: {", ".join(bad)}')

    def _pod(self, attrs: AdmissionAttributes, node: str) -> None:
        if attrs.subresource == "":
            if attrs.operation is Operation.CREATE:
                self._pod_create(attrs, node)
                return
            if attrs.operation is Operation.DELETE:
                existing = attrs.old or self._objects.get("pods", attrs.namespace, attrs.name)
                if existing is None:
                    raise NotFound("pods", attrs.name)
                if spec_of(existing).get("nodeName") != node:
                    raise forbidden(attrs, f'node "{node}" can only delete pods with spec.nodeName set to itself')
                return
            raise forbidden(
                attrs,
                f'unexpected operation "{attrs.operation.value}", node "{node}" can only create and delete mirror pods',
            )
        if attrs.subresource == "status":
            if spec_of(attrs.old).get("nodeName") != node:
                raise forbidden(attrs, f'node "{node}" can only update pod status for pods with spec.nodeName set to itself')
            return
        if attrs.subresource == "eviction":
            existing = self._objects.get("pods", attrs.namespace, attrs.name)
            if existing is None:
                raise NotFound("pods", attrs.name)
            if spec_of(existing).get("nodeName") != node:
                raise forbidden(attrs, f'node "{node}" can only evict pods with spec.nodeName set to itself')
            return
        raise forbidden(
            attrs, f"unexpected pod subresource \"{attrs.subresource}\", only 'status' and 'eviction' are allowed"
        )

    def _pod_create(self, attrs: AdmissionAttributes, node: str) -> None:
        pod = attrs.obj or {}
        if MIRROR_POD_ANNOTATION not in annotations_of(pod):
            raise forbidden(
                attrs,
                f'pod does not have "{MIRROR_POD_ANNOTATION}" annotation, node "{node}" can only create mirror pods',
            )
        spec = spec_of(pod)
        if spec.get("nodeName") != node:
            raise forbidden(attrs, f'node "{node}" can only create pods with spec.nodeName set to itself')
        owners = list((pod.get("metadata") or {}).get("ownerReferences") or [])
        if len(owners) > 1:
            raise forbidden(attrs, f'node "{node}" can only create pods with a single owner reference set to itself')
        if not owners:
            raise forbidden(attrs, f'node "{node}" can only create pods with an owner reference set to itself')
        owner = owners[0]
        if owner.get("apiVersion") != "v1" or owner.get("kind") != "Node" or owner.get("name") != node:
            raise forbidden(attrs, f'node "{node}" can only create pods with an owner reference set to itself')
        if not owner.get("controller"):
            raise forbidden(attrs, f'node "{node}" can only create pods with a controller owner reference set to itself')
        if owner.get("blockOwnerDeletion"):
            raise forbidden(attrs, f'node "{node}" must not set blockOwnerDeletion on an owner reference')
        stored = self._objects.get("nodes", "", node)
        if stored is None:
            raise NotFound("nodes", node)
        uid = (stored.get("metadata") or {}).get("uid", "")
        if owner.get("uid") != uid:
            raise forbidden(attrs, f"node {node} UID mismatch: expected {owner.get('uid', '')} got {uid}")
        if spec.get("serviceAccountName"):
            raise forbidden(attrs, f'node "{node}" can not create pods that reference a service account')
        refs = _references(spec)
        for kind in ("secrets", "configmaps", "persistentvolumeclaims", "resourceclaims"):
            if kind in refs:
                raise forbidden(attrs, f'node "{node}" can not create pods that reference {kind}')


def _references(spec: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    if spec.get("imagePullSecrets"):
        out.add("secrets")
    if spec.get("resourceClaims"):
        out.add("resourceclaims")
    for vol in spec.get("volumes") or []:
        if not isinstance(vol, dict):
            continue
        if vol.get("persistentVolumeClaim") is not None or (vol.get("ephemeral") or {}).get("volumeClaimTemplate"):
            out.add("persistentvolumeclaims")
        if vol.get("secret") is not None:
            out.add("secrets")
        if vol.get("configMap") is not None:
            out.add("configmaps")
        for key in ("azureFile", "cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos", "csi"):
            src = vol.get(key) or {}
            if isinstance(src, dict) and (src.get("secretRef") or src.get("secretName") or src.get("nodePublishSecretRef")):
                out.add("secrets")
        for src in (vol.get("projected") or {}).get("sources") or []:
            if (src or {}).get("secret") is not None:
                out.add("secrets")
            if (src or {}).get("configMap") is not None:
                out.add("configmaps")
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(kind) or []:
            for env in c.get("env") or []:
                src = (env or {}).get("valueFrom") or {}
                if src.get("secretKeyRef") is not None:
                    out.add("secrets")
                if src.get("configMapKeyRef") is not None:
                    out.add("configmaps")
            for ef in c.get("envFrom") or []:
                if (ef or {}).get("secretRef") is not None:
                    out.add("secrets")
                if (ef or {}).get("configMapRef") is not None:
                    out.add("configmaps")
    return out


