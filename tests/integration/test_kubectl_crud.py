"""kubectl CRUD on configmaps, secrets, deployments, services and namespaces, client-side and
server-side apply, patch types, edit, replace, scale and output formats."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import stat
import sys
from pathlib import Path

import yaml

from .conftest import Kubectl, unique, wait_until


def _deployment(name: str, replicas: int = 1, image: str = "nginx:1.27") -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def test_configmap_lifecycle(kctl: Kubectl) -> None:
    name = unique("cm")
    out = kctl.ok("create", "configmap", name, "--from-literal=greeting=hello", "--from-literal=n=1")
    assert out.strip() == f"configmap/{name} created", out
    obj = kctl.json("get", "configmap", name)
    assert obj["apiVersion"] == "v1" and obj["kind"] == "ConfigMap"
    assert obj["data"] == {"greeting": "hello", "n": "1"}
    meta = obj["metadata"]
    assert meta["namespace"] == "default"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", meta["uid"])
    assert meta["resourceVersion"].isdigit()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])

    table = kctl.ok("get", "configmap", name)
    header, row = table.splitlines()[:2]
    assert header.split() == ["NAME", "DATA", "AGE"], table
    assert row.split()[:2] == [name, "2"], table
    assert kctl.ok("get", "cm", name, "-o", "jsonpath={.data.greeting}") == "hello"
    assert kctl.ok("get", "cm", name, "-o", "name").strip() == f"configmap/{name}"
    as_yaml = yaml.safe_load(kctl.ok("get", "cm", name, "-o", "yaml"))
    assert as_yaml["data"]["n"] == "1"
    wide = kctl.ok("get", "cm", name, "-o", "wide")
    assert wide.splitlines()[0].split() == ["NAME", "DATA", "AGE"], wide

    out = kctl.ok("label", "cm", name, "tier=backend")
    assert out.strip() == f"configmap/{name} labeled", out
    out = kctl.ok("annotate", "cm", name, "owner=team-a")
    assert out.strip() == f"configmap/{name} annotated", out
    labelled = kctl.ok("get", "cm", "-l", "tier=backend", "-o", "name").split()
    assert f"configmap/{name}" in labelled
    assert f"configmap/{name}" not in kctl.ok("get", "cm", "-l", "tier!=backend", "-o", "name").split()
    shown = kctl.ok("get", "cm", name, "--show-labels")
    assert "tier=backend" in shown, shown
    err = kctl.fail("label", "cm", name, "tier=frontend")
    assert "'tier' already has a value (backend), and --overwrite is false" in err, err
    kctl.ok("label", "cm", name, "tier-")
    assert "labels" not in kctl.json("get", "cm", name)["metadata"] or "tier" not in kctl.json(
        "get", "cm", name)["metadata"]["labels"]

    described = kctl.ok("describe", "configmap", name)
    assert re.search(rf"^Name:\s+{name}$", described, re.M), described
    assert re.search(r"^Namespace:\s+default$", described, re.M), described
    assert re.search(r"^Annotations:\s+owner: team-a$", described, re.M), described
    assert re.search(r"^greeting:\n----\nhello$", described, re.M), described

    out = kctl.ok("delete", "configmap", name)
    assert out.strip() == f'configmap "{name}" deleted from default namespace', out
    assert "NotFound" in kctl.fail("get", "cm", name)


def test_patch_types(kctl: Kubectl) -> None:
    name = unique("patch")
    kctl.create(_deployment(name))
    out = kctl.ok("patch", "deploy", name, "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}')
    assert out.strip() == f"deployment.apps/{name} patched", out
    kctl.ok(
        "patch", "deploy", name, "--type=json",
        "-p", '[{"op":"replace","path":"/spec/replicas","value":4}]',
    )
    # Strategic merge: containers merge by name, so a new container is added, the old kept.
    kctl.ok(
        "patch", "deploy", name, "--type=strategic",
        "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}',
    )
    obj = kctl.json("get", "deploy", name)
    assert obj["metadata"]["labels"]["m"] == "1"
    assert obj["spec"]["replicas"] == 4
    names = [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]]
    assert sorted(names) == ["side", "web"], names
    # A merge patch replaces lists wholesale.
    kctl.ok(
        "patch", "deploy", name, "--type=merge",
        "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"busybox"}]}}}}',
    )
    obj = kctl.json("get", "deploy", name)
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["only"]
    # A failing JSON patch test operation is rejected and changes nothing.
    err = kctl.fail(
        "patch", "deploy", name, "--type=json",
        "-p", '[{"op":"test","path":"/spec/replicas","value":9}]',
    )
    assert "testing value /spec/replicas failed: test failed" in err, err
    # "(no change)" compares the object kubectl read with the patch result, so the check uses
    # an object no controller writes to (the Deployment's status keeps changing meanwhile).
    kctl.ok("create", "configmap", name, "--from-literal=k=v")
    out = kctl.ok("patch", "configmap", name, "--type=merge", "-p", '{"data":{"k":"v"}}')
    assert out.strip() == f"configmap/{name} patched (no change)", out


def test_deployment_defaults_scale_and_wide(kctl: Kubectl) -> None:
    name = unique("dep")
    out = kctl.ok("create", "deployment", name, "--image=nginx:1.27", "--replicas=2")
    assert out.strip() == f"deployment.apps/{name} created", out
    obj = kctl.json("get", "deployment", name)
    spec = obj["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }, spec
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert obj["metadata"]["generation"] == 1

    out = kctl.ok("scale", "deployment", name, "--replicas=5")
    assert out.strip() == f"deployment.apps/{name} scaled", out
    obj = kctl.json("get", "deployment", name)
    assert obj["spec"]["replicas"] == 5 and obj["metadata"]["generation"] == 2
    scale = json.loads(kctl.ok("get", "--raw", f"/apis/apps/v1/namespaces/default/deployments/{name}/scale"))
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 5, scale
    assert scale["status"]["selector"] == f"app={name}", scale
    err = kctl.fail("scale", "deployment", name, "--replicas=3", "--current-replicas=2")
    assert "expected replicas to be 2" in err.lower() or "(Conflict)" in err, err
    assert kctl.json("get", "deployment", name)["spec"]["replicas"] == 5

    wide = kctl.ok("get", "deploy", name, "-o", "wide")
    header = wide.splitlines()[0].split()
    assert header == [
        "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR",
    ], wide
    row = wide.splitlines()[1].split()
    assert row[0] == name and row[1].endswith("/5") and row[-3:] == ["nginx", "nginx:1.27", f"app={name}"], row
    out = kctl.ok("delete", "deployment", name)
    assert out.strip() == f'deployment.apps "{name}" deleted from default namespace', out


def test_services_allocate_cluster_ip_and_node_port(kctl: Kubectl) -> None:
    cip = unique("svc")
    np = unique("np")
    kctl.ok("create", "service", "clusterip", cip, "--tcp=80:8080")
    kctl.ok("create", "service", "nodeport", np, "--tcp=443:8443")
    svc = kctl.json("get", "svc", cip)
    ip = ipaddress.ip_address(svc["spec"]["clusterIP"])
    assert ip in ipaddress.ip_network("10.43.0.0/16"), ip
    assert svc["spec"]["clusterIPs"] == [str(ip)]
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["sessionAffinity"] == "None"
    assert svc["spec"]["ipFamilies"] == ["IPv4"] and svc["spec"]["ipFamilyPolicy"] == "SingleStack"
    assert svc["spec"]["ports"][0] == {"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}
    nps = kctl.json("get", "svc", np)
    node_port = nps["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767, node_port
    assert nps["spec"]["externalTrafficPolicy"] == "Cluster"
    assert ipaddress.ip_address(nps["spec"]["clusterIP"]) in ipaddress.ip_network("10.43.0.0/16")
    assert nps["spec"]["clusterIP"] != svc["spec"]["clusterIP"]
    # The kubernetes service holds the first address of the range.
    k8s = kctl.json("get", "svc", "kubernetes")
    assert k8s["spec"]["clusterIP"] == "10.43.0.1", k8s["spec"]
    table = kctl.ok("get", "svc", np)
    assert table.splitlines()[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert f"443:{node_port}/TCP" in table, table
    # A requested, already used node port is refused.
    taken = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": unique("np2")},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": node_port}]},
    }
    err = kctl.fail("create", "-f", "-", input=yaml.safe_dump(taken))
    assert f"spec.ports[0].nodePort: Invalid value: {node_port}: provided port is already allocated" in err, err
    # Freed addresses can be used again: delete and request the same cluster IP explicitly.
    kctl.ok("delete", "svc", cip)
    again = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": cip},
        "spec": {"clusterIP": str(ip), "ports": [{"port": 80}]},
    }
    kctl.create(again)
    assert kctl.json("get", "svc", cip)["spec"]["clusterIP"] == str(ip)


def test_secret_string_data_folds_into_data(kctl: Kubectl) -> None:
    name = unique("sec")
    manifest = {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "stringData": {"password": "s3cr3t"}, "data": {"user": base64.b64encode(b"admin").decode()},
    }
    kctl.create(manifest)
    obj = kctl.json("get", "secret", name)
    assert "stringData" not in obj
    assert obj["type"] == "Opaque"
    assert {k: base64.b64decode(v).decode() for k, v in obj["data"].items()} == {
        "password": "s3cr3t", "user": "admin",
    }
    kctl.ok("create", "secret", "generic", name + "-lit", "--from-literal=token=abc")
    value = kctl.ok("get", "secret", name + "-lit", "-o", "jsonpath={.data.token}")
    assert base64.b64decode(value) == b"abc"
    table = kctl.ok("get", "secret", name)
    assert table.splitlines()[0].split() == ["NAME", "TYPE", "DATA", "AGE"], table
    assert table.splitlines()[1].split()[:3] == [name, "Opaque", "2"], table
    described = kctl.ok("describe", "secret", name)
    assert re.search(r"^password:\s+6 bytes$", described, re.M), described
    assert "s3cr3t" not in described


def test_namespace_lifecycle(kctl: Kubectl) -> None:
    ns = unique("ns")
    out = kctl.ok("create", "namespace", ns)
    assert out.strip() == f"namespace/{ns} created"
    obj = kctl.json("get", "ns", ns)
    assert obj["status"]["phase"] == "Active"
    assert obj["spec"]["finalizers"] == ["kubernetes"]
    assert obj["metadata"]["labels"]["kubernetes.io/metadata.name"] == ns
    kctl.ok("create", "configmap", "inside", "-n", ns)
    err = kctl.fail("create", "configmap", "x", "-n", unique("absent"))
    assert re.search(r'namespaces "[^"]+" not found', err), err
    for builtin in ("default", "kube-system", "kube-public", "kube-node-lease"):
        kctl.ok("get", "ns", builtin)
    out = kctl.ok("delete", "namespace", ns, "--wait=false")
    assert out.strip() == f'namespace "{ns}" deleted', out

    def gone() -> bool:
        return "NotFound" in kctl.run("get", "ns", ns).stderr

    wait_until(gone, timeout=20)
    err = kctl.fail("create", "configmap", "late", "-n", ns)
    assert "not found" in err or "being terminated" in err, err


def test_replace_and_edit(kctl: Kubectl, tmp_path: Path) -> None:
    name = unique("edit")
    kctl.ok("create", "configmap", name, "--from-literal=color=red")
    obj = kctl.json("get", "cm", name)
    obj["data"]["color"] = "green"
    out = kctl.ok("replace", "-f", "-", input=json.dumps(obj))
    assert out.strip() == f"configmap/{name} replaced", out
    assert kctl.ok("get", "cm", name, "-o", "jsonpath={.data.color}") == "green"
    # replace --force deletes and recreates: a new uid.
    obj = kctl.json("get", "cm", name)
    del obj["metadata"]["resourceVersion"]
    kctl.ok("replace", "--force", "-f", "-", input=json.dumps(obj))
    assert kctl.json("get", "cm", name)["metadata"]["uid"] != obj["metadata"]["uid"]

    editor = tmp_path / "editor.py"
    editor.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\np = pathlib.Path(sys.argv[-1])\n"
        "p.write_text(p.read_text().replace('color: green', 'color: blue'))\n"
    )
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    out = kctl.ok("edit", "cm", name, env={"EDITOR": str(editor), "KUBE_EDITOR": str(editor)})
    assert out.strip() == f"configmap/{name} edited", out
    assert kctl.ok("get", "cm", name, "-o", "jsonpath={.data.color}") == "blue"
    noop = tmp_path / "noop.sh"
    noop.write_text("#!/bin/sh\nexit 0\n")
    noop.chmod(0o755)
    proc = kctl.run("edit", "cm", name, env={"EDITOR": str(noop), "KUBE_EDITOR": str(noop)})
    assert proc.returncode == 0, proc.stderr
    assert "Edit cancelled, no changes made." in proc.stdout + proc.stderr


def test_apply_three_way(kctl: Kubectl) -> None:
    name = unique("apply")
    first = _deployment(name, replicas=2)
    first["metadata"]["annotations"] = {"keep": "me", "drop": "me"}
    out = kctl.apply(first)
    assert out.strip() == f"deployment.apps/{name} created", out
    live = kctl.json("get", "deploy", name)
    last = live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(last)["spec"]["replicas"] == 2
    # An out-of-band change to a field the manifest does not mention survives re-apply.
    kctl.ok("label", "deploy", name, "extra=yes")
    second = _deployment(name, replicas=3, image="nginx:1.28")
    second["metadata"]["annotations"] = {"keep": "me"}
    out = kctl.apply(second)
    assert out.strip() == f"deployment.apps/{name} configured", out
    live = kctl.json("get", "deploy", name)
    assert live["spec"]["replicas"] == 3
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    annotations = live["metadata"]["annotations"]
    assert annotations["keep"] == "me" and "drop" not in annotations, annotations
    assert live["metadata"]["labels"]["extra"] == "yes"
    out = kctl.apply(second)
    assert out.strip() == f"deployment.apps/{name} unchanged", out
    diff = kctl.run("diff", "-f", "-", input=yaml.safe_dump(_deployment(name, replicas=7)))
    assert diff.returncode == 1 and "replicas: 7" in diff.stdout, (diff.stdout, diff.stderr)


def test_server_side_apply_conflict(kctl: Kubectl) -> None:
    name = unique("ssa")
    out = kctl.apply(_deployment(name, replicas=1), "--server-side")
    assert out.strip() == f"deployment.apps/{name} serverside-applied", out
    managed = kctl.json("get", "deploy", name, "--show-managed-fields")["metadata"]["managedFields"]
    assert any(m["manager"] == "kubectl" and m["operation"] == "Apply" for m in managed), managed
    kctl.ok("scale", "deploy", name, "--replicas=3")
    proc = kctl.run("apply", "--server-side", "-f", "-", input=yaml.safe_dump(_deployment(name, replicas=5)))
    assert proc.returncode != 0, proc.stdout
    assert re.search(
        r'Apply failed with 1 conflict: conflict with "kubectl[-\w]*" with subresource "scale" '
        r"using apps/v1: \.spec\.replicas",
        proc.stderr,
    ), proc.stderr
    assert "Please review the fields above--they currently have other managers." in proc.stderr
    assert kctl.json("get", "deploy", name)["spec"]["replicas"] == 3
    out = kctl.apply(_deployment(name, replicas=5), "--server-side", "--force-conflicts")
    assert out.strip() == f"deployment.apps/{name} serverside-applied", out
    assert kctl.json("get", "deploy", name)["spec"]["replicas"] == 5
    # The applier now owns replicas again: dropping it from the manifest removes the value
    # (the default comes back).
    dropped = _deployment(name)
    del dropped["spec"]["replicas"]
    kctl.apply(dropped, "--server-side")
    assert kctl.json("get", "deploy", name)["spec"]["replicas"] == 1


def test_delete_by_label_and_all(kctl: Kubectl) -> None:
    ns = unique("del")
    kctl.ok("create", "ns", ns)
    for i in range(3):
        kctl.ok("create", "cm", f"x{i}", "-n", ns)
        kctl.ok("label", "cm", f"x{i}", "-n", ns, f"grp={'a' if i else 'b'}")
    out = kctl.ok("delete", "cm", "-n", ns, "-l", "grp=a")
    assert sorted(out.splitlines()) == [
        f'configmap "x1" deleted from {ns} namespace', f'configmap "x2" deleted from {ns} namespace',
    ], out
    assert kctl.ok("get", "cm", "-n", ns, "-l", "grp", "-o", "name").split() == ["configmap/x0"]
    err = kctl.fail("delete", "cm", "x1", "-n", ns)
    assert err.strip() == 'Error from server (NotFound): configmaps "x1" not found', err
    assert os.path.exists(kctl.kubeconfig)
