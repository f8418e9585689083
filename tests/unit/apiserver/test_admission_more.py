"""PodSecurity, NodeRestriction, storage/ingress/node/runtime-class plugins, and the chain."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from k3trio.api.errors import Forbidden, Invalid
from k3trio.apiserver.admission import DEFAULT_ORDER, default_plugins
from k3trio.apiserver.admission.certificates import CertificateSubjectRestriction
from k3trio.apiserver.admission.default_ingress_class import DefaultIngressClass
from k3trio.apiserver.admission.node_restriction import NodeRestriction
from k3trio.apiserver.admission.pod_security import PodSecurity
from k3trio.apiserver.admission.runtime_class import RuntimeClassAdmission
from k3trio.apiserver.admission.storage import (
    DefaultStorageClass,
    PersistentVolumeClaimResize,
    StorageObjectInUseProtection,
)
from k3trio.apiserver.admission.taint_nodes import TaintNodesByCondition
from k3trio.apiserver.interfaces import Operation, UserInfo
from tests.unit.apiserver._admission_objects import MemoryObjects, attrs, ns


def pod(name: str = "p", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    body = {"containers": [{"name": "c", "image": "nginx"}], **spec}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": body}


# -- PodSecurity -------------------------------------------------------------------------------


async def test_pod_security_restricted_message() -> None:
    objs = MemoryObjects(("namespaces", ns("default", labels={"pod-security.kubernetes.io/enforce": "restricted"})))
    plugin = PodSecurity(objs)
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(pod()))
    assert exc.value.message == (
        'pods "p" is forbidden: violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    )
    good = pod(securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}})
    good["spec"]["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    await plugin.validate(attrs(good))


async def test_pod_security_baseline_and_warn() -> None:
    objs = MemoryObjects(("namespaces", ns("default", labels={
        "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"})))  # fmt: skip
    plugin = PodSecurity(objs)
    bad = pod(hostNetwork=True)
    bad["spec"]["containers"][0].update(securityContext={"privileged": True}, ports=[{"containerPort": 80, "hostPort": 80}])
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(bad))
    assert exc.value.message == (
        'pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), '
        'hostPort (container "c" uses hostPort 80), privileged (container "c" must not set securityContext.privileged=true)'
    )
    a = attrs(pod())
    a.warnings = []  # type: ignore[attr-defined]
    await plugin.validate(a)
    assert a.warnings[0].startswith('would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false')  # type: ignore[attr-defined]
    # Workloads are only warned about.
    deploy = {"metadata": {"name": "d", "namespace": "default"}, "spec": {"template": bad}}
    d = attrs(deploy, resource="deployments", kind="Deployment", group="apps")
    d.warnings = []  # type: ignore[attr-defined]
    await plugin.validate(d)
    assert d.warnings[0].startswith('would violate PodSecurity "baseline:latest": host namespaces')  # type: ignore[attr-defined]


async def test_pod_security_namespace_labels() -> None:
    objs = MemoryObjects(("pods", pod("root", "team", securityContext={"runAsUser": 0}, hostPID=True)))
    plugin = PodSecurity(objs)
    bad = ns("team", labels={"pod-security.kubernetes.io/enforce": "strict"})
    with pytest.raises(Invalid) as exc:
        await plugin.validate(attrs(bad, resource="namespaces", kind="Namespace", namespace=""))
    assert exc.value.message == (
        'Namespace "team" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": '
        "must be one of privileged, baseline, restricted"
    )
    raised = ns("team", labels={"pod-security.kubernetes.io/enforce": "baseline"})
    a = attrs(raised, resource="namespaces", kind="Namespace", namespace="", op=Operation.UPDATE, old=ns("team"))
    a.warnings = []  # type: ignore[attr-defined]
    await plugin.validate(a)
    assert a.warnings == [  # type: ignore[attr-defined]
        'existing pods in namespace "team" violate the new PodSecurity enforce level "baseline:latest"',
        "root: host namespaces",
    ]


# -- NodeRestriction ---------------------------------------------------------------------------

NODE_A = UserInfo("system:node:a", groups=("system:nodes", "system:authenticated"))


async def test_node_restriction_nodes_and_leases() -> None:
    plugin = NodeRestriction(MemoryObjects())
    other = {"metadata": {"name": "b"}}
    a = attrs(other, resource="nodes", kind="Node", namespace="", user=NODE_A)
    assert plugin.handles(a)
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(a)
    assert exc.value.message == 'nodes "b" is forbidden: node "a" is not allowed to modify node "b"'
    mine = {"metadata": {"name": "a", "labels": {"node-role.kubernetes.io/master": "true", "kubernetes.io/os": "linux"}}}
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(mine, resource="nodes", kind="Node", namespace="", user=NODE_A))
    assert exc.value.message.endswith('node "a" is not allowed to set the following labels: node-role.kubernetes.io/master')
    old = {"metadata": {"name": "a"}, "spec": {"taints": [{"key": "x", "effect": "NoSchedule"}]}}
    new = {"metadata": {"name": "a"}, "spec": {}}
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(new, old=old, op=Operation.UPDATE, resource="nodes", kind="Node", namespace="", user=NODE_A))
    assert exc.value.message.endswith('node "a" is not allowed to modify taints')
    lease = {"metadata": {"name": "b", "namespace": "kube-node-lease"}}
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(lease, resource="leases", kind="Lease", group="coordination.k8s.io", user=NODE_A))
    assert exc.value.message.endswith("can only access node lease with the same name as the requesting node")
    # Other users are not restricted.
    assert not plugin.handles(attrs(other, resource="nodes", kind="Node", namespace=""))


async def test_node_restriction_pods() -> None:
    objs = MemoryObjects(("nodes", {"metadata": {"name": "a", "uid": "u-a"}}), ("pods", pod("elsewhere", nodeName="b")))
    plugin = NodeRestriction(objs)
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(pod(nodeName="a"), user=NODE_A))
    assert exc.value.message == (
        'pods "p" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "a" can only create mirror pods'
    )
    mirror = pod("static-a", nodeName="a")
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "hash"}
    mirror["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": "a", "uid": "u-a", "controller": True}]
    await plugin.validate(attrs(mirror, user=NODE_A))
    mirror["spec"]["volumes"] = [{"name": "s", "secret": {"secretName": "x"}}]
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(mirror, user=NODE_A))
    assert exc.value.message.endswith('node "a" can not create pods that reference secrets')
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(None, op=Operation.DELETE, old=pod("elsewhere", nodeName="b"), user=NODE_A))
    assert exc.value.message.endswith('node "a" can only delete pods with spec.nodeName set to itself')
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(pod("elsewhere"), op=Operation.UPDATE, old=pod("elsewhere", nodeName="b"),
                                    subresource="status", user=NODE_A))  # fmt: skip
    assert exc.value.message.endswith('node "a" can only update pod status for pods with spec.nodeName set to itself')


# -- storage, ingress, nodes, runtime classes ----------------------------------------------------


async def test_storage_plugins() -> None:
    objs = MemoryObjects(
        ("storageclasses.storage.k8s.io", {"metadata": {"name": "old", "creationTimestamp": "2024-01-01T00:00:00Z",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}),
        ("storageclasses.storage.k8s.io", {"metadata": {"name": "local-path", "creationTimestamp": "2025-01-01T00:00:00Z",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "allowVolumeExpansion": False}),
    )  # fmt: skip
    pvc = {"metadata": {"name": "c", "namespace": "default"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    a = attrs(pvc, resource="persistentvolumeclaims", kind="PersistentVolumeClaim")
    await DefaultStorageClass(objs).admit(a)
    assert pvc["spec"]["storageClassName"] == "local-path"
    explicit = {"metadata": {"name": "e", "namespace": "default"}, "spec": {"storageClassName": ""}}
    await DefaultStorageClass(objs).admit(attrs(explicit, resource="persistentvolumeclaims", kind="PersistentVolumeClaim"))
    assert explicit["spec"]["storageClassName"] == ""
    await StorageObjectInUseProtection().admit(a)
    assert pvc["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    bigger = {"metadata": {"name": "c", "namespace": "default"},
              "spec": {"storageClassName": "local-path", "resources": {"requests": {"storage": "2Gi"}}}}  # fmt: skip
    with pytest.raises(Forbidden) as exc:
        await PersistentVolumeClaimResize(objs).validate(
            attrs(bigger, old=pvc, op=Operation.UPDATE, resource="persistentvolumeclaims", kind="PersistentVolumeClaim"))
    assert exc.value.message == (
        'persistentvolumeclaims "c" is forbidden: only dynamically provisioned pvc can be resized and '
        "the storageclass that provisions the pvc must support resize"
    )


async def test_ingress_class_taints_runtime_class() -> None:
    objs = MemoryObjects(
        ("ingressclasses.networking.k8s.io", {"metadata": {"name": "traefik",
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}}}),
        ("runtimeclasses.node.k8s.io", {"metadata": {"name": "gvisor"}, "handler": "runsc",
            "overhead": {"podFixed": {"cpu": "250m"}},
            "scheduling": {"nodeSelector": {"sandbox": "yes"}, "tolerations": [{"key": "sandbox", "operator": "Exists"}]}}),
    )  # fmt: skip
    ing = {"metadata": {"name": "i", "namespace": "default"}, "spec": {}}
    await DefaultIngressClass(objs).admit(attrs(ing, resource="ingresses", kind="Ingress", group="networking.k8s.io"))
    assert ing["spec"]["ingressClassName"] == "traefik"
    node = {"metadata": {"name": "n"}}
    await TaintNodesByCondition().admit(attrs(node, resource="nodes", kind="Node", namespace=""))
    assert node["spec"]["taints"] == [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    rc = RuntimeClassAdmission(objs)
    p = pod(runtimeClassName="gvisor")
    await rc.admit(attrs(p))
    await rc.validate(attrs(p))
    assert p["spec"]["overhead"] == {"cpu": "250m"} and p["spec"]["nodeSelector"] == {"sandbox": "yes"}
    assert p["spec"]["tolerations"] == [{"key": "sandbox", "operator": "Exists"}]
    with pytest.raises(Forbidden) as exc:
        await rc.admit(attrs(pod(runtimeClassName="kata")))
    assert exc.value.message == 'pods "p" is forbidden: pod rejected: RuntimeClass "kata" not found'
    with pytest.raises(Forbidden) as exc:
        await rc.admit(attrs(pod(runtimeClassName="gvisor", nodeSelector={"sandbox": "no"})))
    assert exc.value.message.endswith("conflict: runtimeClass.scheduling.nodeSelector[sandbox] = yes; pod.spec.nodeSelector[sandbox] = no")


async def test_csr_subject_restriction() -> None:
    import base64

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "me"),
                                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]))
           .sign(key, hashes.SHA256()))  # fmt: skip
    body = {"metadata": {"name": "x"}, "spec": {"signerName": "kubernetes.io/kube-apiserver-client",
            "request": base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()}}  # fmt: skip
    with pytest.raises(Forbidden) as exc:
        await CertificateSubjectRestriction().validate(
            attrs(body, resource="certificatesigningrequests", kind="CertificateSigningRequest", group="certificates.k8s.io", namespace=""))
    assert exc.value.message == (
        'certificatesigningrequests.certificates.k8s.io "x" is forbidden: use of kubernetes.io/kube-apiserver-client '
        "signer with system:masters group is not allowed"
    )


def test_default_chain_order() -> None:
    mutating, validating = default_plugins(MemoryObjects())
    assert [p.name for p in mutating] == [
        "LimitRanger", "ServiceAccount", "TaintNodesByCondition", "Priority", "DefaultTolerationSeconds",
        "DefaultStorageClass", "StorageObjectInUseProtection", "RuntimeClass", "DefaultIngressClass",
        "MutatingAdmissionWebhook",
    ]  # fmt: skip
    assert [p.name for p in validating] == [
        "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "PodSecurity", "Priority",
        "PersistentVolumeClaimResize", "RuntimeClass", "CertificateSubjectRestriction",
        "ValidatingAdmissionWebhook", "ResourceQuota",
    ]  # fmt: skip
    m2, v2 = default_plugins(MemoryObjects(), disabled={"ResourceQuota", "PodSecurity"})
    assert "ResourceQuota" not in [p.name for p in v2] and len(DEFAULT_ORDER) == 17
