"""Admission plugins for pods and namespaces: decisions and upstream messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from k3trio.api.errors import Forbidden, NotFound
from k3trio.apiserver.admission.default_toleration_seconds import DefaultTolerationSeconds
from k3trio.apiserver.admission.limit_ranger import LimitRanger
from k3trio.apiserver.admission.namespace_lifecycle import NamespaceLifecycle
from k3trio.apiserver.admission.priority import PriorityAdmission
from k3trio.apiserver.admission.resource_quota import ResourceQuotaAdmission
from k3trio.apiserver.admission.service_account import ServiceAccountAdmission
from k3trio.apiserver.interfaces import Operation
from tests.unit.apiserver._admission_objects import MemoryObjects, attrs, ns


def pod(name: str = "p", namespace: str = "default", *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    cs = list(containers) or [{"name": "c", "image": "busybox"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": cs, **spec}}


def sa(name: str = "default", namespace: str = "default", **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, **extra}


# -- NamespaceLifecycle ------------------------------------------------------------------------


async def test_namespace_lifecycle(autojump_clock: Any) -> None:
    objs = MemoryObjects(("namespaces", ns("default")), ("namespaces", ns("gone", "Terminating")))
    plugin = NamespaceLifecycle(objs)
    await plugin.validate(attrs(pod()))
    with pytest.raises(NotFound) as nf:
        await plugin.validate(attrs(pod(namespace="missing")))
    assert nf.value.message == 'namespaces "missing" not found'
    with pytest.raises(Forbidden) as fb:
        await plugin.validate(attrs(pod(namespace="gone")))
    status = fb.value.to_status()
    assert status["message"] == (
        'pods "p" is forbidden: unable to create new content in namespace gone because it is being terminated'
    )
    assert status["details"]["causes"] == [
        {"reason": "NamespaceTerminating", "message": "namespace gone is being terminated", "field": "metadata.namespace"}
    ]
    # Updates and deletes in a terminating namespace pass; deletes in a missing one too.
    await plugin.validate(attrs(pod(namespace="gone"), op=Operation.UPDATE, old=pod(namespace="gone")))
    await plugin.validate(attrs(None, op=Operation.DELETE, old=pod(namespace="missing")))
    with pytest.raises(Forbidden) as fb:
        await plugin.validate(attrs(None, op=Operation.DELETE, resource="namespaces", kind="Namespace", name="kube-system", namespace=""))
    assert fb.value.message == 'namespaces "kube-system" is forbidden: this namespace may not be deleted'
    await plugin.validate(attrs(None, op=Operation.DELETE, resource="namespaces", kind="Namespace", name="gone", namespace=""))
    # Cluster-scoped objects are not checked.
    await plugin.validate(attrs({"metadata": {"name": "n1"}}, resource="nodes", kind="Node", namespace=""))


async def test_namespace_lifecycle_live_lookup(autojump_clock: Any) -> None:
    async def live(name: str) -> dict[str, Any] | None:
        return ns(name) if name == "fresh" else None

    plugin = NamespaceLifecycle(MemoryObjects(), live_get=live)
    await plugin.validate(attrs(pod(namespace="fresh")))


# -- ServiceAccount --------------------------------------------------------------------------


async def test_service_account_defaults_and_mounts(autojump_clock: Any) -> None:
    objs = MemoryObjects(("serviceaccounts", sa(imagePullSecrets=[{"name": "reg"}])))
    plugin = ServiceAccountAdmission(objs)
    p = pod("p", "default", {"name": "a", "image": "x"}, initContainers=[{"name": "i", "image": "x"}])
    a = attrs(p)
    await plugin.admit(a)
    spec = p["spec"]
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    assert spec["imagePullSecrets"] == [{"name": "reg"}]
    (vol,) = spec["volumes"]
    assert vol["name"].startswith("kube-api-access-") and len(vol["name"]) == len("kube-api-access-") + 5
    assert vol["projected"] == {
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ],
        "defaultMode": 420,
    }
    mount = {"name": vol["name"], "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    assert spec["containers"][0]["volumeMounts"] == [mount]
    assert spec["initContainers"][0]["volumeMounts"] == [mount]
    await plugin.validate(a)


async def test_service_account_opt_out_and_existing_mount(autojump_clock: Any) -> None:
    objs = MemoryObjects(("serviceaccounts", sa()), ("serviceaccounts", sa("quiet", automountServiceAccountToken=False)))
    plugin = ServiceAccountAdmission(objs)
    p = pod(automountServiceAccountToken=False)
    await plugin.admit(attrs(p))
    assert "volumes" not in p["spec"]
    q = pod(serviceAccountName="quiet")
    await plugin.admit(attrs(q))
    assert "volumes" not in q["spec"]
    # The pod's explicit true beats the account's false.
    r = pod(serviceAccountName="quiet", automountServiceAccountToken=True)
    await plugin.admit(attrs(r))
    assert len(r["spec"]["volumes"]) == 1
    own = {"name": "mine", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    s = pod("s", "default", {"name": "a", "image": "x", "volumeMounts": [own]})
    await plugin.admit(attrs(s))
    assert "volumes" not in s["spec"] and s["spec"]["containers"][0]["volumeMounts"] == [own]


async def test_service_account_missing(autojump_clock: Any) -> None:
    plugin = ServiceAccountAdmission(MemoryObjects())
    with pytest.raises(Forbidden) as exc:
        await plugin.admit(attrs(pod(serviceAccountName="robot")))
    assert exc.value.message == (
        'pods "p" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found'
    )
    with pytest.raises(Forbidden):
        await plugin.admit(attrs(pod()))


async def test_service_account_mirror_pods(autojump_clock: Any) -> None:
    plugin = ServiceAccountAdmission(MemoryObjects())
    mirror = pod(volumes=[{"name": "s", "secret": {"secretName": "top"}}])
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    a = attrs(mirror)
    await plugin.admit(a)
    assert "serviceAccountName" not in mirror["spec"]
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(a)
    assert "mirror pods may not reference secrets" in exc.value.message


# -- Priority ----------------------------------------------------------------------------------


def pc(name: str, value: int, default: bool = False, policy: str = "PreemptLowerPriority") -> dict[str, Any]:
    return {"metadata": {"name": name}, "value": value, "globalDefault": default, "preemptionPolicy": policy}


async def test_priority() -> None:
    objs = MemoryObjects()
    plugin = PriorityAdmission(objs)
    p = pod()
    await plugin.admit(attrs(p))
    assert p["spec"]["priority"] == 0 and "priorityClassName" not in p["spec"] and "preemptionPolicy" not in p["spec"]
    objs.add("priorityclasses.scheduling.k8s.io", pc("high", 1000, default=True, policy="Never"))
    q = pod()
    await plugin.admit(attrs(q))
    assert (q["spec"]["priorityClassName"], q["spec"]["priority"], q["spec"]["preemptionPolicy"]) == ("high", 1000, "Never")
    crit = pod(priorityClassName="system-node-critical")
    await plugin.admit(attrs(crit))
    assert crit["spec"]["priority"] == 2000001000
    with pytest.raises(Forbidden) as exc:
        await plugin.admit(attrs(pod(priorityClassName="nope")))
    assert exc.value.message == 'pods "p" is forbidden: no PriorityClass with name nope was found'
    with pytest.raises(Forbidden) as exc:
        await plugin.admit(attrs(pod(priorityClassName="high", priority=5)))
    assert exc.value.message == (
        'pods "p" is forbidden: the integer value of priority (5) must not be provided in pod spec; '
        "priority admission controller computed 1000 from the given PriorityClass name"
    )
    # A second global default is refused.
    second = pc("other", 5, default=True)
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(second, resource="priorityclasses", kind="PriorityClass", group="scheduling.k8s.io", namespace=""))
    assert exc.value.message == (
        'priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass high is already marked as default. '
        "Only one default can exist"
    )


# -- DefaultTolerationSeconds -----------------------------------------------------------------


async def test_default_toleration_seconds() -> None:
    plugin = DefaultTolerationSeconds()
    p = pod(tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}])
    await plugin.admit(attrs(p))
    assert p["spec"]["tolerations"] == [
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists"},
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    ]
    q = pod()
    await plugin.admit(attrs(q))
    assert [t["key"] for t in q["spec"]["tolerations"]] == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    r = pod(tolerations=[{"operator": "Exists"}])
    await plugin.admit(attrs(r))
    assert r["spec"]["tolerations"] == [{"operator": "Exists"}]


# -- LimitRanger -------------------------------------------------------------------------------


def limit_range(*items: dict[str, Any], name: str = "lr") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"limits": list(items)}}


async def test_limit_ranger_defaults() -> None:
    objs = MemoryObjects(("limitranges", limit_range({
        "type": "Container",
        "default": {"cpu": "200m", "memory": "128Mi"},
        "defaultRequest": {"cpu": "100m", "memory": "64Mi"},
    })))
    plugin = LimitRanger(objs)
    p = pod("a", "default", {"name": "a", "image": "x"})
    await plugin.admit(attrs(p))
    assert p["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "200m", "memory": "128Mi"},
        "requests": {"cpu": "100m", "memory": "64Mi"},
    }
    assert p["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a"
    )
    # A limit without request: the request is the limit, not the default request.
    q = pod("b", "default", {"name": "b", "image": "x", "resources": {"limits": {"cpu": "150m"}}})
    await plugin.admit(attrs(q))
    assert q["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "150m", "memory": "128Mi"},
        "requests": {"cpu": "150m", "memory": "64Mi"},
    }
    assert q["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container b; memory limit for container b"
    )


async def test_limit_ranger_enforces() -> None:
    objs = MemoryObjects(("limitranges", limit_range(
        {"type": "Container", "max": {"cpu": "500m"}, "min": {"memory": "10Mi"}, "maxLimitRequestRatio": {"cpu": "2"}},
        {"type": "PersistentVolumeClaim", "max": {"storage": "5Gi"}, "min": {"storage": "1Gi"}},
    )))
    plugin = LimitRanger(objs)
    big = pod("big", "default", {"name": "c", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "20Mi"}, "requests": {"cpu": "1", "memory": "20Mi"}}})
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(big))
    assert exc.value.message == (
        'pods "big" is forbidden: maximum cpu usage per Container is 500m, but limit is 1'
    )
    ratio = pod("r", "default", {"name": "c", "image": "x", "resources": {"limits": {"cpu": "400m", "memory": "20Mi"}, "requests": {"cpu": "100m", "memory": "5Mi"}}})
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(ratio))
    assert exc.value.message == (
        'pods "r" is forbidden: [minimum memory usage per Container is 10Mi, but request is 5Mi, '
        "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000]"
    )
    bare = pod("n")
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(bare))
    assert exc.value.message == (
        'pods "n" is forbidden: [minimum memory usage per Container is 10Mi.  No request is specified, '
        "maximum cpu usage per Container is 500m.  No limit is specified, "
        "cpu max limit to request ratio per Container is 2, but no request is specified or request is 0]"
    )
    pvc = {"metadata": {"name": "data", "namespace": "default"}, "spec": {"resources": {"requests": {"storage": "10Gi"}}}}
    a = attrs(pvc, resource="persistentvolumeclaims", kind="PersistentVolumeClaim")
    assert plugin.handles(a)
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(a)
    assert exc.value.message == (
        'persistentvolumeclaims "data" is forbidden: maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 10Gi'
    )


async def test_limit_ranger_pod_type_counts_init_peak() -> None:
    objs = MemoryObjects(("limitranges", limit_range({"type": "Pod", "max": {"cpu": "1"}})))
    plugin = LimitRanger(objs)
    res = lambda cpu: {"limits": {"cpu": cpu}, "requests": {"cpu": cpu}}  # noqa: E731
    ok = pod("ok", "default", {"name": "a", "image": "x", "resources": res("500m")}, {"name": "b", "image": "x", "resources": res("500m")},
             initContainers=[{"name": "i", "image": "x", "resources": res("1")}])
    await plugin.validate(attrs(ok))
    bad = copy.deepcopy(ok)
    bad["spec"]["initContainers"][0]["resources"] = res("1500m")
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(bad))
    assert exc.value.message.endswith("maximum cpu usage per Pod is 1, but limit is 1500m")


# -- ResourceQuota -----------------------------------------------------------------------------


def quota(name: str, hard: dict[str, str], used: dict[str, str] | None, **spec: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"hard": hard}
    if used is not None:
        status["used"] = used
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": "5"},
            "spec": {"hard": hard, **spec}, "status": status}


async def test_quota_exceeded_and_written() -> None:
    objs = MemoryObjects(("resourcequotas", quota("q", {"pods": "2"}, {"pods": "1"})))
    written: list[tuple[str, dict[str, str]]] = []

    async def write(q: dict[str, Any], used: dict[str, str]) -> dict[str, Any]:
        written.append((q["metadata"]["name"], used))
        new = copy.deepcopy(q)
        new["status"]["used"] = used
        new["metadata"]["resourceVersion"] = str(int(q["metadata"]["resourceVersion"]) + 1)
        return new

    plugin = ResourceQuotaAdmission(objs, write_used=write)
    await plugin.validate(attrs(pod("b")))
    assert written == [("q", {"pods": "2"})]
    # The plugin sees its own write even though the object source has not caught up.
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(pod("c")))
    assert exc.value.message == 'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'
    # Dry runs check but never write.
    objs2 = MemoryObjects(("resourcequotas", quota("q", {"pods": "2"}, {"pods": "0"})))
    plugin2 = ResourceQuotaAdmission(objs2, write_used=write)
    written.clear()
    await plugin2.validate(attrs(pod("d"), dry_run=True))
    assert written == []


async def test_quota_requires_container_requests_and_stats() -> None:
    objs = MemoryObjects(("resourcequotas", quota("q", {"requests.cpu": "1", "limits.memory": "1Gi"}, {"requests.cpu": "0", "limits.memory": "0"})))
    plugin = ResourceQuotaAdmission(objs)
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(pod("q1", "default", {"name": "q1", "image": "x", "resources": {"limits": {"memory": "1Mi"}}})))
    assert exc.value.message == 'pods "q1" is forbidden: failed quota: q: must specify requests.cpu for: q1'
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(pod("q2")))
    assert exc.value.message == (
        'pods "q2" is forbidden: failed quota: q: must specify limits.memory for: c; requests.cpu for: c'
    )
    big = pod("big", "default", {"name": "c", "image": "x", "resources": {"requests": {"cpu": "2"}, "limits": {"memory": "1Mi"}}})
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(big))
    assert exc.value.message == (
        'pods "big" is forbidden: exceeded quota: q, requested: requests.cpu=2, used: requests.cpu=0, limited: requests.cpu=1'
    )
    fresh = MemoryObjects(("resourcequotas", quota("new", {"configmaps": "1"}, None)))
    cm = {"metadata": {"name": "cm", "namespace": "default"}, "data": {}}
    with pytest.raises(Forbidden) as exc:
        await ResourceQuotaAdmission(fresh).validate(attrs(cm, resource="configmaps", kind="ConfigMap"))
    assert exc.value.message == 'configmaps "cm" is forbidden: status unknown for quota: new, resources: configmaps'


async def test_quota_scopes_services_and_updates() -> None:
    objs = MemoryObjects(
        ("resourcequotas", quota("be", {"pods": "0"}, {"pods": "0"}, scopes=["BestEffort"])),
        ("resourcequotas", quota("svc", {"services.nodeports": "1", "count/services": "5"}, {"services.nodeports": "0", "count/services": "0"})),
    )
    plugin = ResourceQuotaAdmission(objs)
    with pytest.raises(Forbidden):
        await plugin.validate(attrs(pod("besteffort")))
    burst = pod("burst", "default", {"name": "c", "image": "x", "resources": {"requests": {"memory": "1Mi"}}})
    await plugin.validate(attrs(burst))
    svc = {"metadata": {"name": "s", "namespace": "default"}, "spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}}
    with pytest.raises(Forbidden) as exc:
        await plugin.validate(attrs(svc, resource="services", kind="Service"))
    assert exc.value.message == (
        'services "s" is forbidden: exceeded quota: svc, requested: services.nodeports=2, used: services.nodeports=0, '
        "limited: services.nodeports=1"
    )
    # An update that does not add ports is not charged again.
    old = copy.deepcopy(svc)
    old["metadata"]["resourceVersion"] = "3"
    await plugin.validate(attrs(svc, resource="services", kind="Service", op=Operation.UPDATE, old=old))
