"""kubectl against k3trio: version, discovery (api-resources/api-versions), explain, paging,
dry-run, field validation and the exact upstream error texts."""

from __future__ import annotations

import json
import re

import yaml

from .conftest import Kubectl, unique


def test_version_reports_server(kctl: Kubectl) -> None:
    out = kctl.ok("version", "-o", "json")
    info = json.loads(out)
    server = info["serverVersion"]
    assert server["major"] == "1" and server["minor"].rstrip("+") == "36", server
    assert server["gitVersion"].startswith("v1.36."), server
    assert info["clientVersion"]["gitVersion"].startswith("v1."), info
    plain = kctl.ok("version")
    assert re.search(r"^Server Version: v1\.36\.\d+", plain, re.M), plain


def _table(out: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in out.splitlines() if line.strip()]
    header = lines[0].split()
    return header, [line.split() for line in lines[1:]]


def test_api_resources_lists_builtin_kinds(kctl: Kubectl) -> None:
    header, rows = _table(kctl.ok("api-resources"))
    assert header == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], header
    by_name = {}
    for row in rows:
        # SHORTNAMES may be empty, so rows have 4 or 5 cells.
        if len(row) == 5:
            name, short, gv, namespaced, kind = row
        else:
            (name, gv, namespaced, kind), short = row, ""
        by_name[(name, gv)] = (short, namespaced, kind)
    assert by_name[("pods", "v1")] == ("po", "true", "Pod")
    assert by_name[("deployments", "apps/v1")] == ("deploy", "true", "Deployment")
    assert by_name[("namespaces", "v1")] == ("ns", "false", "Namespace")
    assert by_name[("services", "v1")] == ("svc", "true", "Service")
    assert by_name[("configmaps", "v1")] == ("cm", "true", "ConfigMap")
    assert by_name[("secrets", "v1")] == ("", "true", "Secret")
    assert by_name[("nodes", "v1")] == ("no", "false", "Node")
    assert by_name[("customresourcedefinitions", "apiextensions.k8s.io/v1")] == (
        "crd,crds", "false", "CustomResourceDefinition",
    )
    assert by_name[("clusterroles", "rbac.authorization.k8s.io/v1")][1:] == ("false", "ClusterRole")
    # Subresources are not listed as resources.
    assert not any("/" in name for name, _ in by_name)


def test_api_resources_filters(kctl: Kubectl) -> None:
    out = kctl.ok("api-resources", "--namespaced=false", "-o", "name")
    names = set(out.split())
    assert {"namespaces", "nodes", "clusterroles.rbac.authorization.k8s.io"} <= names, names
    assert "pods" not in names and "configmaps" not in names
    apps = kctl.ok("api-resources", "--api-group=apps", "-o", "name").split()
    assert set(apps) == {
        "controllerrevisions.apps", "daemonsets.apps", "deployments.apps",
        "replicasets.apps", "statefulsets.apps",
    }, apps
    wide = kctl.ok("api-resources", "--api-group=apps", "-o", "wide")
    deploy = next(line for line in wide.splitlines() if line.startswith("deployments "))
    for verb in ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"):
        assert verb in deploy, deploy


def test_api_versions(kctl: Kubectl) -> None:
    versions = set(kctl.ok("api-versions").split())
    for gv in (
        "v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1",
        "apiextensions.k8s.io/v1", "coordination.k8s.io/v1", "networking.k8s.io/v1",
        "storage.k8s.io/v1", "policy/v1", "autoscaling/v2", "discovery.k8s.io/v1",
        "authentication.k8s.io/v1", "authorization.k8s.io/v1", "events.k8s.io/v1",
        "scheduling.k8s.io/v1", "node.k8s.io/v1", "certificates.k8s.io/v1",
        "admissionregistration.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1",
    ):
        assert gv in versions, (gv, versions)


def test_explain_pod_containers(kctl: Kubectl) -> None:
    out = kctl.ok("explain", "pods.spec.containers")
    assert re.search(r"^KIND:\s+Pod$", out, re.M), out
    assert re.search(r"^VERSION:\s+v1$", out, re.M), out
    assert re.search(r"^FIELD:\s+containers <\[\]Container>", out, re.M), out
    assert "List of containers belonging to the pod." in out, out
    assert re.search(r"^\s+image\s+<string>", out, re.M), out
    assert re.search(r"^\s+name\s+<string> -required-", out, re.M), out
    deeper = kctl.ok("explain", "deployment.spec.replicas")
    assert re.search(r"^GROUP:\s+apps$", deeper, re.M), deeper
    assert re.search(r"^FIELD:\s+replicas <integer>", deeper, re.M), deeper
    missing = kctl.fail("explain", "pods.spec.nosuchfield")
    assert 'field "nosuchfield" does not exist' in missing, missing


def test_get_not_found_message(kctl: Kubectl) -> None:
    err = kctl.fail("get", "configmap", "nope")
    assert err.strip() == 'Error from server (NotFound): configmaps "nope" not found', err
    err = kctl.fail("get", "ns", "no-such-ns")
    assert err.strip() == 'Error from server (NotFound): namespaces "no-such-ns" not found', err


def test_unknown_resource_type(kctl: Kubectl) -> None:
    err = kctl.fail("get", "flurbs")
    assert 'the server doesn\'t have a resource type "flurbs"' in err, err


def test_already_exists_message(kctl: Kubectl) -> None:
    name = unique("dup")
    kctl.ok("create", "configmap", name, "--from-literal=a=b")
    manifest = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
    err = kctl.fail("create", "-f", "-", input=manifest)
    assert err.strip() == (
        f'Error from server (AlreadyExists): error when creating "STDIN": '
        f'configmaps "{name}" already exists'
    ), err
    err = kctl.fail("create", "configmap", name)
    assert f'configmaps "{name}" already exists' in err, err


def test_invalid_name_message(kctl: Kubectl) -> None:
    manifest = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}
    )
    err = kctl.fail("create", "-f", "-", input=manifest)
    expected = (
        'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )
    assert err.strip() == expected, err


def test_replace_with_stale_resource_version_conflicts(kctl: Kubectl) -> None:
    name = unique("stale")
    kctl.ok("create", "configmap", name, "--from-literal=k=1")
    stale = kctl.json("get", "configmap", name)
    kctl.ok("patch", "configmap", name, "--type=merge", "-p", '{"data":{"k":"2"}}')
    stale["data"]["k"] = "3"
    err = kctl.fail("replace", "-f", "-", input=json.dumps(stale))
    assert err.strip() == (
        f'Error from server (Conflict): error when replacing "STDIN": Operation cannot be '
        f'fulfilled on configmaps "{name}": the object has been modified; please apply your '
        f"changes to the latest version and try again"
    ), err
    assert kctl.ok("get", "cm", name, "-o", "jsonpath={.data.k}") == "2"


def test_dry_run_server_creates_nothing(kctl: Kubectl) -> None:
    name = unique("dry")
    out = kctl.ok("create", "configmap", name, "--from-literal=a=b", "--dry-run=server", "-o", "json")
    obj = json.loads(out)
    assert obj["metadata"]["name"] == name and obj["data"] == {"a": "b"}
    assert obj["metadata"].get("uid"), "server dry-run returns the object as it would be stored"
    out = kctl.ok("create", "configmap", name, "--from-literal=a=b", "--dry-run=server")
    assert out.strip() == f"configmap/{name} created (server dry run)", out
    err = kctl.fail("get", "configmap", name)
    assert "NotFound" in err, err
    # Dry-run of delete leaves the object in place.
    kctl.ok("create", "configmap", name)
    out = kctl.ok("delete", "configmap", name, "--dry-run=server")
    assert out.strip() == f'configmap "{name}" deleted from default namespace (server dry run)', out
    kctl.ok("get", "configmap", name)


def test_validate_strict_rejects_unknown_field(kctl: Kubectl) -> None:
    name = unique("strict")
    manifest = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "bogus": 1}
    )
    err = kctl.fail("create", "--validate=strict", "-f", "-", input=manifest)
    assert err.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" '
        'cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"'
    ), err
    kctl.fail("get", "configmap", name)
    # Nested unknown field of a typed object, with its full path.
    deploy = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox", "imagePullPolicyy": "x"}]},
            },
        },
    }
    err = kctl.fail("create", "-f", "-", input=yaml.safe_dump(deploy))
    assert (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.template.spec.containers[0].imagePullPolicyy"'
    ) in err, err
    # warn: created, with the server's warning printed by kubectl.
    proc = kctl.run("create", "--validate=warn", "-f", "-", input=manifest)
    assert proc.returncode == 0, proc.stderr
    assert 'Warning: unknown field "bogus"' in proc.stderr, proc.stderr
    kctl.ok("get", "configmap", name)


def test_chunked_list_gets_everything(kctl: Kubectl) -> None:
    ns = unique("chunk")
    kctl.ok("create", "namespace", ns)
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i:03d}", "namespace": ns},
         "data": {"i": str(i)}}
        for i in range(53)
    ]
    kctl.ok("create", "-f", "-", input=yaml.safe_dump_all(docs))
    proc = kctl.run("get", "cm", "-n", ns, "--chunk-size=7", "-o", "name", "-v=6")
    assert proc.returncode == 0, proc.stderr
    names = proc.stdout.split()
    expected = {f"configmap/c{i:03d}" for i in range(53)}
    assert expected <= set(names), sorted(expected - set(names))
    assert len(names) == len(set(names)), "no object listed twice"
    pages = [line for line in proc.stderr.splitlines() if "limit=7" in line and "/configmaps" in line]
    continues = [line for line in pages if "continue=" in line]
    # 53 user objects (+ kube-root-ca.crt when the controller runs) in pages of 7.
    assert len(pages) >= 8 and len(continues) >= 7, proc.stderr[-3000:]
    table = kctl.ok("get", "cm", "-n", ns, "--chunk-size=7")
    rows = [line for line in table.splitlines()[1:] if line.startswith("c")]
    assert len(rows) == 53, table
    assert table.count("NAME") == 1, "a chunked table has one header"
