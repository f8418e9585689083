"""The API server core end to end: a real server process, real kubectl, the Python client."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from .conftest import unique, wait_until

MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata: {name: %(cm)s, labels: {app: core}}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %(dep)s}
spec:
  replicas: 2
  selector: {matchLabels: {app: %(dep)s}}
  template:
    metadata: {labels: {app: %(dep)s}}
    spec: {containers: [{name: c, image: nginx}]}
"""


def test_bootstrap_objects(kctl):
    names = kctl.ok("get", "ns", "-o", "name").split()
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert f"namespace/{ns}" in names
    svc = kctl.json("get", "svc", "kubernetes", "-n", "default", "-o", "json")
    assert svc["spec"]["clusterIP"] == "10.43.0.1"
    assert svc["spec"]["ports"][0]["port"] == 443


def test_apply_get_scale_delete(kctl):
    cm, dep = unique("cm"), unique("dep")
    manifest = MANIFEST % {"cm": cm, "dep": dep}
    out = kctl.apply(manifest)
    assert f"configmap/{cm} created" in out and f"deployment.apps/{dep} created" in out
    assert "unchanged" in kctl.apply(manifest)
    got = kctl.json("get", "cm", cm, "-o", "json")
    assert got["data"] == {"a": "b"} and got["metadata"]["uid"]
    assert cm in kctl.ok("get", "cm", "-l", "app=core")
    kctl.ok("scale", "deploy", dep, "--replicas=3")
    d = kctl.json("get", "deploy", dep, "-o", "json")
    assert d["spec"]["replicas"] == 3 and d["metadata"]["generation"] == 2
    kctl.ok("label", "cm", cm, "extra=yes")
    assert kctl.json("get", "cm", cm, "-o", "json")["metadata"]["labels"]["extra"] == "yes"
    kctl.ok("delete", "cm", cm)
    assert "NotFound" in kctl.fail("get", "cm", cm)


def test_conflict_and_not_found_messages(kctl):
    err = kctl.fail("get", "cm", "does-not-exist")
    assert 'configmaps "does-not-exist" not found' in err


def test_get_watch_sees_changes(kctl):
    cm = unique("w")
    kctl.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm}})
    proc = subprocess.Popen(
        kctl.argv("get", "cm", cm, "-w", "-o", "json", "--request-timeout=10s"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=kctl.env(),
    )
    try:
        time.sleep(1.0)
        kctl.ok("annotate", "cm", cm, "touched=1")
        kctl.ok("delete", "cm", cm)
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=5)
    text = out.decode()
    assert text.count(f'"name": "{cm}"') >= 2
    assert '"touched": "1"' in text


def test_python_client_crud_and_paging(k8s_client):
    from kubernetes import client

    core = client.CoreV1Api(k8s_client)
    prefix = unique("py")
    for i in range(5):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"{prefix}-{i}", "labels": {"set": prefix}}})
    page = core.list_namespaced_config_map("default", label_selector=f"set={prefix}", limit=2)
    assert len(page.items) == 2 and page.metadata._continue
    rest = core.list_namespaced_config_map("default", label_selector=f"set={prefix}", limit=10, _continue=page.metadata._continue)
    assert len(page.items) + len(rest.items) == 5
    cm = core.read_namespaced_config_map(f"{prefix}-0", "default")
    cm.data = {"x": "y"}
    updated = core.replace_namespaced_config_map(f"{prefix}-0", "default", cm)
    assert int(updated.metadata.resource_version) > int(cm.metadata.resource_version)
    cm.data = {"x": "z"}
    with pytest.raises(client.ApiException) as exc:
        core.replace_namespaced_config_map(f"{prefix}-0", "default", cm)
    assert exc.value.status == 409
    status = core.delete_namespaced_config_map(f"{prefix}-1", "default")
    status = status if isinstance(status, dict) else status.to_dict()
    assert status["status"] == "Success" and status["details"]["name"] == f"{prefix}-1"


def test_python_client_watch(k8s_client):
    from kubernetes import client, watch

    core = client.CoreV1Api(k8s_client)
    name = unique("pw")
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    core.delete_namespaced_config_map(name, "default")
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2):
        if event["object"].metadata.name == name:
            seen.append(event["type"])
        if len(seen) == 2:
            break
    assert seen == ["ADDED", "DELETED"]


def test_python_client_watch_all_namespaces_by_name(k8s_client):
    """A cross-namespace watch with a metadata.name field selector sees later changes
    (controllers watch their per-namespace objects this way)."""
    from kubernetes import client, watch

    core = client.CoreV1Api(k8s_client)
    name = unique("pwn")
    selector = f"metadata.name={name}"
    rv = core.list_config_map_for_all_namespaces(field_selector=selector).metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    core.create_namespaced_config_map("default", {"metadata": {"name": name + "-other"}})
    core.delete_namespaced_config_map(name, "default")
    seen = []
    for event in watch.Watch().stream(
        core.list_config_map_for_all_namespaces, field_selector=selector, resource_version=rv, timeout_seconds=2
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 2:
            break
    assert seen == [("ADDED", name), ("DELETED", name)]


def test_mistyped_values_are_rejected_as_go_decoding_does(kctl):
    dep = unique("typed")
    kctl.apply(MANIFEST % {"cm": unique("cm"), "dep": dep})
    before = kctl.json("get", "deploy", dep)
    go_error = "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    err = kctl.fail("patch", "deploy", dep, "--type", "merge", "-p", '{"spec":{"replicas":"x"}}')
    assert "The request is invalid: patch: Invalid value: " in err and go_error in err
    err = kctl.fail("patch", "deploy", dep, "-p", '{"spec":{"replicas":"x"}}')
    assert 'Invalid value: "map[spec:map[replicas:x]]": unrecognized type: int32' in err
    err = kctl.fail("patch", "deploy", dep, "--type", "json", "-p", '[{"op":"replace","path":"/spec/replicas","value":true}]')
    assert "json: cannot unmarshal bool into Go struct field DeploymentSpec.spec.replicas of type int32" in err
    after = kctl.json("get", "deploy", dep)
    assert after["spec"] == before["spec"] and after["spec"]["replicas"] == 2
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    bad = (MANIFEST % {"cm": unique("cm"), "dep": unique("typed")}).split("---\n")[1].replace("replicas: 2", "replicas: x")
    err = kctl.fail("create", "-f", "-", input=bad)
    assert f'Deployment in version "v1" cannot be handled as a Deployment: {go_error}' in err
    kctl.ok("delete", "deploy", dep)
