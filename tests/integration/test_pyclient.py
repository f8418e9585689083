"""The official Python ``kubernetes`` client against k3trio: CRUD, selectors, patch, watch, errors."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from .conftest import unique


@pytest.fixture(scope="module")
def core(k8s_client) -> client.CoreV1Api:
    return client.CoreV1Api(k8s_client)


@pytest.fixture(scope="module")
def apps(k8s_client) -> client.AppsV1Api:
    return client.AppsV1Api(k8s_client)


def _cm(name: str, labels: dict | None = None, data: dict | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels), data=data or {"k": "v"}
    )


def test_configmap_crud(core: client.CoreV1Api) -> None:
    name = unique("py")
    created = core.create_namespaced_config_map("default", _cm(name))
    assert created.metadata.name == name and created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    got = core.read_namespaced_config_map(name, "default")
    assert got.data == {"k": "v"}
    assert got.metadata.resource_version == created.metadata.resource_version
    got.data["k"] = "w"
    replaced = core.replace_namespaced_config_map(name, "default", got)
    assert replaced.data == {"k": "w"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    status = core.delete_namespaced_config_map(name, "default")
    kind = status["kind"] if isinstance(status, dict) else status.kind
    assert kind == "Status", status
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map(name, "default")
    assert info.value.status == 404
    assert info.value.reason == "Not Found"
    import json

    body = json.loads(info.value.body)
    assert body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'configmaps "{name}" not found', "reason": "NotFound",
        "details": {"name": name, "kind": "configmaps"}, "code": 404,
    }, body


def test_conflict_and_already_exists(core: client.CoreV1Api) -> None:
    name = unique("py")
    created = core.create_namespaced_config_map("default", _cm(name))
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("default", _cm(name))
    assert info.value.status == 409 and '"reason":"AlreadyExists"' in info.value.body.replace(" ", "")
    core.patch_namespaced_config_map(name, "default", {"data": {"k": "changed"}})
    created.data = {"k": "stale"}
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map(name, "default", created)
    assert info.value.status == 409
    assert "the object has been modified" in info.value.body


def test_list_with_label_selector(core: client.CoreV1Api) -> None:
    tag = unique("sel")
    for i in range(4):
        core.create_namespaced_config_map(
            "default", _cm(f"{tag}-{i}", labels={"set": tag, "parity": "even" if i % 2 == 0 else "odd"})
        )
    listed = core.list_namespaced_config_map("default", label_selector=f"set={tag},parity=even")
    assert sorted(cm.metadata.name for cm in listed.items) == [f"{tag}-0", f"{tag}-2"]
    assert listed.metadata.resource_version
    notin = core.list_namespaced_config_map("default", label_selector=f"set={tag},parity notin (even)")
    assert sorted(cm.metadata.name for cm in notin.items) == [f"{tag}-1", f"{tag}-3"]
    by_field = core.list_namespaced_config_map("default", field_selector=f"metadata.name={tag}-3")
    assert [cm.metadata.name for cm in by_field.items] == [f"{tag}-3"]
    everywhere = core.list_config_map_for_all_namespaces(label_selector=f"set={tag}")
    assert len(everywhere.items) == 4
    page = core.list_namespaced_config_map("default", label_selector=f"set={tag}", limit=3)
    assert len(page.items) == 3 and page.metadata._continue
    rest = core.list_namespaced_config_map(
        "default", label_selector=f"set={tag}", limit=3, _continue=page.metadata._continue
    )
    assert len(rest.items) == 1 and not rest.metadata._continue
    core.delete_collection_namespaced_config_map("default", label_selector=f"set={tag}")
    assert core.list_namespaced_config_map("default", label_selector=f"set={tag}").items == []


def test_patch_variants(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    name = unique("pyd")
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": name}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": name}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]),
            ),
        ),
    )
    created = apps.create_namespaced_deployment("default", body)
    assert created.spec.strategy.type == "RollingUpdate"
    # The client sends a dict patch as strategic merge patch for typed objects.
    patched = apps.patch_namespaced_deployment(
        name, "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "d", "image": "nginx"}]}}}},
    )
    assert sorted(c.name for c in patched.spec.template.spec.containers) == ["c", "d"]
    scaled = apps.patch_namespaced_deployment_scale(name, "default", {"spec": {"replicas": 3}})
    assert scaled.spec.replicas == 3
    assert apps.read_namespaced_deployment_scale(name, "default").spec.replicas == 3
    json_patched = apps.patch_namespaced_deployment(
        name, "default", [{"op": "replace", "path": "/spec/replicas", "value": 2}]
    )
    assert json_patched.spec.replicas == 2
    listed = apps.list_namespaced_deployment("default", field_selector=f"metadata.name={name}")
    assert [d.metadata.name for d in listed.items] == [name]
    apps.delete_namespaced_deployment(name, "default")
    with pytest.raises(ApiException) as info:
        apps.read_namespaced_deployment(name, "default")
    assert info.value.status == 404


def test_namespace_and_service(core: client.CoreV1Api) -> None:
    ns = unique("pyns")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    svc = core.create_namespaced_service(
        ns,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)], selector={"app": "web"}),
        ),
    )
    assert svc.spec.cluster_ip.startswith("10.43.")
    assert svc.spec.ports[0].target_port == 80
    names = [n.metadata.name for n in core.list_namespace().items]
    assert ns in names and "default" in names
    invalid = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Bad_Name"))
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, invalid)
    assert info.value.status == 422
    assert 'ConfigMap \\"Bad_Name\\" is invalid' in info.value.body or 'ConfigMap "Bad_Name" is invalid' in info.value.body


def test_watch_stream_receives_events(core: client.CoreV1Api) -> None:
    tag = unique("pyw")
    name = f"{tag}-obj"
    start_rv = core.list_namespaced_config_map("default", label_selector=f"w={tag}").metadata.resource_version
    events: list[tuple[str, str, str]] = []
    w = watch.Watch()

    def consume() -> None:
        for event in w.stream(
            core.list_namespaced_config_map, "default", label_selector=f"w={tag}",
            resource_version=start_rv, timeout_seconds=20,
        ):
            obj = event["object"]
            events.append((event["type"], obj.metadata.name, obj.metadata.resource_version))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    core.create_namespaced_config_map("default", _cm(name, labels={"w": tag}))
    core.patch_namespaced_config_map(name, "default", {"data": {"k": "2"}})
    core.delete_namespaced_config_map(name, "default")
    thread.join(timeout=15)
    assert not thread.is_alive(), f"watch did not deliver DELETED; got {events}"
    assert [(t, n) for t, n, _ in events] == [("ADDED", name), ("MODIFIED", name), ("DELETED", name)]
    rvs = [int(rv) for _, _, rv in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3, rvs


def test_watch_timeout_ends_stream(core: client.CoreV1Api) -> None:
    w = watch.Watch()
    t0 = time.monotonic()
    list(w.stream(core.list_namespaced_config_map, "default", label_selector="never=matches", timeout_seconds=1))
    assert time.monotonic() - t0 < 5
