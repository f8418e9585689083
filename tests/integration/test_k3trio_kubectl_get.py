"""``k3trio kubectl`` against the real kubectl on one server: discovery commands, ``get`` in
every output format, errors and exit codes, kubeconfig handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ._kubectl_compare import Pair
from ._server import ServerProcess
from .conftest import Kubectl, unique

TRICKY = {
    "a": "true", "b": "123", "c": "", "d": "foo: bar", "e": "multi\nline\n", "f": "multi\nline",
    "g": "2001-12-14", "h": "1e3", "i": " lead", "j": "- x", "k": "héllo <b>&", "l": "yes",
    "m": "0x1F", "n": "~", "o": "#c", "p": "a #b", "q": "trail  \nx", "r": "1:20", "s": ".5",
    "t": "null", "u": "@x", "v": "*x", "w": "%x", "x": "{x}", "y": "a'b", "z": "tab\tx",
    "key_10": "1", "key_9": "2", "Key-B": "3", "key.a": "4",
    "long": "word " * 40,
}


@pytest.fixture(scope="module")
def pair(api_server: ServerProcess, kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return Pair(kubectl, api_server.kubeconfig, tmp_path_factory.mktemp("homes"))


@pytest.fixture(scope="module")
def objects(kctl: Kubectl) -> dict[str, str]:
    ns = unique("ns")
    kctl.ok("create", "namespace", ns)
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "tricky", "namespace": ns, "labels": {"app": "web", "tier": "1"},
                      "annotations": {"note": "x" * 120}},
         "data": TRICKY},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "plain", "namespace": ns, "labels": {"app": "db"}},
         "data": {"k": "v"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "c", "image": "nginx:1.25",
                                                        "resources": {"limits": {"cpu": 1.5}}}]}}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "s1", "namespace": ns}, "stringData": {"pw": "hunter2"}},
    ]
    # Each document as JSON (valid YAML with every string quoted): a YAML 1.1 reader (kubectl's)
    # takes a plain `1e3` for a number, which the API server rejects in ConfigMap data, as
    # upstream does.
    kctl.ok("create", "-f", "-", input="\n---\n".join(json.dumps(d) for d in docs))
    return {"ns": ns}


def test_version_and_discovery(pair: Pair) -> None:
    real, ours = pair.both("version", "-o", "json")
    assert real.code == ours.code == 0
    assert yaml.safe_load(real.out)["serverVersion"] == yaml.safe_load(ours.out)["serverVersion"]
    r, o = pair.both("version")
    assert r.out.splitlines()[-1] == o.out.splitlines()[-1]  # Server Version line
    pair.compare("api-versions", mode="exact")
    pair.compare("api-resources", mode="exact")
    pair.compare("api-resources", "-o", "wide", mode="exact")
    pair.compare("api-resources", "-o", "name", mode="exact")
    pair.compare("api-resources", "--no-headers", mode="exact")
    pair.compare("api-resources", "--namespaced=false", "--api-group=apps", mode="exact")
    pair.compare("api-resources", "--verbs=create", "--api-group=rbac.authorization.k8s.io",
                 mode="exact")
    pair.compare("api-resources", "--categories=all", mode="exact")
    pair.compare("api-resources", "--sort-by=kind", mode="exact")


@pytest.mark.parametrize("args", [
    ["get", "cm"], ["get", "configmaps", "-o", "wide"], ["get", "cm", "--show-labels"],
    ["get", "cm", "-L", "app,tier"], ["get", "cm", "--no-headers"], ["get", "cm", "tricky"],
    ["get", "cm/tricky", "deploy/web"], ["get", "deploy,svc,cm"], ["get", "all"],
    ["get", "cm", "-l", "app=web"], ["get", "cm", "--field-selector", "metadata.name=plain"],
    ["get", "cm", "--sort-by=.metadata.name"], ["get", "cm", "--chunk-size=1"],
    ["get", "deploy", "-o", "wide", "--show-labels"], ["get", "secrets"], ["get", "ns", "default"],
    ["get", "svc", "web", "-o", "wide"], ["get", "cm,deploy", "--show-kind"],
])
def test_get_tables(pair: Pair, objects: dict[str, str], args: list[str]) -> None:
    pair.compare(*args, "-n", objects["ns"])


def test_get_all_namespaces(pair: Pair, objects: dict[str, str]) -> None:
    pair.compare("get", "deploy,svc", "-A")
    pair.compare("get", "ns", "-A")


@pytest.mark.parametrize("args", [
    ["-o", "yaml"], ["-o", "json"], ["-o", "name"],
    ["-o", "jsonpath={.metadata.name} {.data.a}"],
    ["-o", "jsonpath={.data}"],
    ["-o", "custom-columns=N:.metadata.name,L:.metadata.labels,A:.data.a,M:.missing"],
])
def test_get_one_formats(pair: Pair, objects: dict[str, str], args: list[str]) -> None:
    pair.compare("get", "cm", "tricky", "-n", objects["ns"], *args)


@pytest.mark.parametrize("args", [
    ["cm", "-o", "yaml"], ["cm", "-o", "json"], ["cm,deploy,svc", "-o", "name"],
    ["cm", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}"],
    ["cm", "-o", "jsonpath={.items[*].metadata.name}"],
    ["cm", "tricky", "plain", "-o", "yaml"],
    ["deploy", "-o", "custom-columns=NAME:.metadata.name,IMG:.spec.template.spec.containers[*].image"],
    ["cm", "-o", "custom-columns=NAME:metadata.name", "--no-headers"],
    ["deploy", "-o", "yaml"], ["svc", "web", "-o", "json"],
    ["cm", "--sort-by=.metadata.name", "-o", "name"],
    ["deploy", "web", "-o", "jsonpath-as-json={.spec.replicas}"],
])
def test_get_list_formats(pair: Pair, objects: dict[str, str], args: list[str]) -> None:
    pair.compare("get", *args, "-n", objects["ns"])


def test_custom_columns_file(pair: Pair, objects: dict[str, str], tmp_path: Path) -> None:
    spec = tmp_path / "cols.txt"
    spec.write_text("NAME   LABELS\n.metadata.name   .metadata.labels.app\n")
    pair.compare("get", "cm", "-n", objects["ns"], "-o", f"custom-columns-file={spec}")
    jp = tmp_path / "tpl.txt"
    jp.write_text("{.items[0].metadata.name}")
    pair.compare("get", "cm", "-n", objects["ns"], "-o", f"jsonpath-file={jp}")


@pytest.mark.parametrize("args", [
    ["get", "cm", "nope"], ["get", "nosuchtype"], ["get", "cm", "tricky", "nope"],
    ["get", "cm", "nope", "--ignore-not-found"], ["get", "cm", "tricky", "cm/x"],
    ["get", "cm", "--bogus"], ["get", "cm", "--chunk-size=x"],
    ["get", "cm", "-o", "bogus"], ["get", "pods"], ["get", "pods", "-o", "name"],
    ["get", "pods", "-o", "yaml"], ["get", "nodes"], ["bogus"],
])
def test_errors_and_empty(pair: Pair, objects: dict[str, str], args: list[str]) -> None:
    pair.compare(*args, "-n", objects["ns"])


def test_flag_needs_argument(pair: Pair) -> None:
    pair.compare("get", "cm", "-n")
    pair.compare("get", "cm", "--selector")
    pair.compare("get", "cm", "-Aw=x")


def test_empty_namespace_message(pair: Pair) -> None:
    pair.compare("get", "pods")
    pair.compare("get", "pods", "-A")


def test_kubeconfig_errors(pair: Pair, tmp_path: Path) -> None:
    pair.compare("--kubeconfig", str(tmp_path / "missing"), "get", "pods", kubeconfig=False)
    pair.compare("--context", "nope", "get", "pods")


def test_kubeconfig_merge_and_context(pair: Pair, api_server: ServerProcess, tmp_path: Path,
                                      objects: dict[str, str]) -> None:
    cfg = yaml.safe_load(api_server.kubeconfig.read_text())
    cfg["contexts"].append({"name": "other", "context": {"cluster": "default", "user": "default",
                                                         "namespace": objects["ns"]}})
    first = tmp_path / "first.yaml"
    first.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config",
                                     "current-context": "other", "contexts": cfg["contexts"]}))
    second = tmp_path / "second.yaml"
    second.write_text(yaml.safe_dump({k: v for k, v in cfg.items() if k != "contexts"}))
    env = {"KUBECONFIG": f"{first}:{tmp_path / 'absent.yaml'}:{second}"}
    pair.compare("get", "cm", env=env, kubeconfig=False)
    pair.compare("--context", "default", "get", "svc", env=env, kubeconfig=False)
    pair.compare("get", "cm", "tricky", "-o", "yaml", env=env, kubeconfig=False)


def test_server_kubeconfig_fallback(api_server: ServerProcess, pair: Pair, tmp_path: Path) -> None:
    """Without ~/.kube/config, k3trio kubectl uses the server's kubeconfig (as k3s kubectl)."""
    import os

    home = tmp_path / "home"
    target = Path("/etc/k3trio/k3trio.yaml") if os.geteuid() == 0 else home / ".k3trio" / "kubeconfig.yaml"
    if target.exists():
        pytest.skip(f"{target} exists on this machine")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(api_server.kubeconfig.read_text())
    try:
        r = pair.ours("get", "ns", "default", "-o", "name", kubeconfig=False,
                      env={"HOME": str(home)})
    finally:
        target.unlink()
    assert r.code == 0, r.err
    assert r.out == "namespace/default\n"
