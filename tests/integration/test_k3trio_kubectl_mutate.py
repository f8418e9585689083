"""Mutating commands through ``k3trio kubectl`` and the real kubectl, each in its own
namespace of one server: same output lines, same exit codes, same objects afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ._kubectl_compare import Pair, Twin
from ._server import ServerProcess
from .conftest import Kubectl, unique, wait_until


def _manifests(image: str = "nginx:1.25", replicas: int = 2, extra_env: bool = False) -> str:
    container: dict = {"name": "c", "image": image, "ports": [{"containerPort": 80}]}
    if extra_env:
        container["env"] = [{"name": "A", "value": "1"}]
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "conf", "labels": {"app": "web"}, "annotations": {"x": "<&>"}},
         "data": {"a": "1", "b": "two"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "labels": {"app": "web"}},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [container]}}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "web", "labels": {"app": "web"}},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}},
    ]
    return yaml.safe_dump_all(docs)


@pytest.fixture(scope="module")
def pair(api_server: ServerProcess, kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return Pair(kubectl, api_server.kubeconfig, tmp_path_factory.mktemp("homes"))


@pytest.fixture
def twin(pair: Pair, kctl: Kubectl) -> Twin:
    real_ns, ours_ns = unique("real"), unique("ours")
    for ns in (real_ns, ours_ns):
        kctl.ok("create", "namespace", ns)
    for ns in (real_ns, ours_ns):
        # Let the namespace controllers settle (default ServiceAccount, kube-root-ca.crt) so
        # both namespaces hold the same objects before the compared commands run.
        wait_until(lambda: kctl.run("get", "cm", "kube-root-ca.crt", "-n", ns).returncode == 0
                   and kctl.run("get", "sa", "default", "-n", ns).returncode == 0, timeout=30)
    return Twin(pair, real_ns, ours_ns)


def test_create_apply_replace_delete(twin: Twin, tmp_path: Path) -> None:
    twin.run("create", "-f", "-", input=_manifests())
    twin.same_objects("cm,deploy,svc")
    twin.run("create", "-f", "-", input=_manifests())  # AlreadyExists for each
    twin.run("apply", "-f", "-", input=_manifests(), stderr="first")
    twin.same_objects("cm,deploy,svc")
    twin.run("apply", "-f", "-", input=_manifests())
    twin.run("apply", "-f", "-", input=_manifests(image="nginx:1.27", replicas=3, extra_env=True))
    twin.same_objects("cm,deploy,svc")
    twin.run("apply", "-f", "-", input=_manifests())  # env removed again by the three-way patch
    twin.same_objects("cm,deploy,svc")
    twin.run("apply", "view-last-applied", "deploy/web")
    twin.run("apply", "view-last-applied", "cm", "conf", "-o", "json")
    twin.run("replace", "-f", "-", input=_manifests(replicas=1))
    twin.same_objects("cm,deploy,svc")
    twin.run("get", "cm", "conf", "-o", "yaml", stdout="yaml")
    twin.run("delete", "-f", "-", input=_manifests())
    twin.run("get", "cm,deploy,svc", stdout="table")
    twin.run("delete", "cm", "nope")
    twin.run("replace", "-f", "-", input=_manifests())


def test_apply_directory_and_prune(twin: Twin, tmp_path: Path) -> None:
    d = tmp_path / "m"
    (d / "sub").mkdir(parents=True)
    docs = list(yaml.safe_load_all(_manifests()))
    (d / "cm.yaml").write_text(yaml.safe_dump(docs[0]))
    (d / "sub" / "deploy.json").write_text(yaml.safe_dump(docs[1]))
    (d / "ignored.txt").write_text("not a manifest")
    twin.run("apply", "-f", str(d))
    twin.run("apply", "-f", str(d), "-R")
    twin.same_objects("cm,deploy")
    (d / "sub" / "deploy.json").unlink()
    twin.run("apply", "-f", str(d), "-R", "--prune", "-l", "app=web", stderr="klog")
    twin.same_objects("cm,deploy")


def test_server_side_apply(twin: Twin) -> None:
    twin.run("apply", "--server-side", "-f", "-", input=_manifests())
    twin.run("apply", "--server-side", "-f", "-", input=_manifests(replicas=4))
    twin.same_objects("cm,deploy,svc")


def test_dry_run(twin: Twin) -> None:
    twin.run("apply", "--dry-run=client", "-f", "-", input=_manifests())
    twin.run("create", "--dry-run=server", "-f", "-", input=_manifests())
    twin.run("get", "cm,deploy", stdout="table")
    twin.run("create", "-f", "-", "-o", "name", input=_manifests())
    twin.run("delete", "cm", "conf", "--dry-run=client")
    twin.run("delete", "cm", "conf", "--dry-run=server")
    twin.same_objects("cm")


def test_label_annotate_patch_scale(twin: Twin) -> None:
    twin.run("create", "-f", "-", input=_manifests())
    twin.run("label", "cm", "conf", "tier=backend")
    twin.run("label", "cm", "conf", "tier=frontend")
    twin.run("label", "cm", "conf", "tier=frontend", "--overwrite")
    twin.run("label", "cm", "conf", "tier-")
    twin.run("label", "cm", "conf", "missing-")
    twin.run("label", "cm", "conf", "app=web")
    twin.run("label", "cm,deploy", "-l", "app=web", "release=1")
    twin.run("annotate", "cm", "conf", "note=hello world")
    twin.run("annotate", "cm/conf", "note-")
    twin.run("annotate", "deploy", "web", "bad key=1")
    twin.same_objects("cm,deploy")
    twin.run("patch", "cm", "conf", "-p", '{"data":{"c":"3"}}')
    twin.run("patch", "cm", "conf", "-p", '{"data":{"c":"3"}}')
    twin.run("patch", "cm", "conf", "--type=merge", "-p", "data:\n  d: '4'")
    twin.run("patch", "cm", "conf", "--type=json", "-p", '[{"op":"remove","path":"/data/a"}]')
    twin.run("patch", "deploy", "web", "-p",
             '{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}')
    twin.same_objects("cm,deploy")
    twin.run("scale", "deploy", "web", "--replicas=5")
    twin.run("scale", "deploy/web", "--replicas=1", "--current-replicas=3")
    twin.run("scale", "deploy", "web", "--replicas=1", "--current-replicas=5")
    twin.same_objects("deploy")
    twin.run("delete", "cm,deploy,svc", "-l", "app=web")
    twin.run("delete", "cm", "--all")
    twin.run("delete", "cm")


GENERATORS = [
    ["namespace", "{ns}-child"], ["deployment", "d1", "--image=nginx", "--replicas=2", "--port=80"],
    ["deployment", "d2", "--image=a", "--image=b"],
    ["configmap", "c1", "--from-literal=a=b", "--from-literal=c=d"],
    ["secret", "generic", "s1", "--from-literal=a=b", "--type=x"],
    ["secret", "docker-registry", "r1", "--docker-server=s", "--docker-username=u",
     "--docker-password=p", "--docker-email=e"],
    ["service", "clusterip", "sv1", "--tcp=80:8080", "--tcp=443"],
    ["service", "nodeport", "np", "--tcp=80:8080"], ["service", "loadbalancer", "lb", "--tcp=80"],
    ["service", "externalname", "en", "--external-name=a.com"], ["serviceaccount", "sa1"],
    ["role", "r1", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=x"],
    ["rolebinding", "rb1", "--role=r1", "--user=u1", "--group=g1", "--serviceaccount=default:sa1"],
    ["quota", "q1", "--hard=pods=2,cpu=1"],
    ["poddisruptionbudget", "pdb1", "--selector=app=x", "--min-available=1"],
    ["ns"], ["deploy", "x"], ["cm", "c3", "--from-literal=bad"], ["secret", "generic"],
]


@pytest.mark.parametrize("args", GENERATORS)
def test_generators(twin: Twin, args: list[str]) -> None:
    twin.run("create", *args, "--dry-run=client", "-o", "yaml")
    twin.run("create", *args)
    if len(args) > 1 and args[0] not in ("namespace",):
        twin.run("get", "-o", "yaml", *_get_args(args), stdout="yaml")


def _get_args(args: list[str]) -> list[str]:
    kind = args[0]
    if kind in ("secret", "service"):
        return [kind, args[2]] if len(args) > 2 else [kind]
    return [kind, args[1]]


def test_job_and_cronjob_generators(twin: Twin) -> None:
    twin.run("create", "job", "j1", "--image=busybox", "--dry-run=client", "-o", "json", "--",
             "echo", "hi")
    twin.run("create", "cronjob", "cj1", "--image=busybox", "--schedule=*/1 * * * *", "--", "date")
    twin.run("create", "deployment", "d3", "--image=nginx", "--", "sleep", "1")
    twin.same_objects("cronjob,deploy")


def test_edit_with_editor(twin: Twin, tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^  a: \"1\"$/  a: \"edited\"/' \"$1\"\n")
    editor.chmod(0o755)
    noop = tmp_path / "noop.sh"
    noop.write_text("#!/bin/sh\nexit 0\n")
    noop.chmod(0o755)
    twin.run("create", "-f", "-", input=_manifests())
    import os

    for script, extra in ((editor, []), (noop, []), (editor, ["-o", "json"])):
        os.environ["KUBE_EDITOR"] = str(script)
        try:
            twin.run("edit", "cm", "conf", *extra)
        finally:
            del os.environ["KUBE_EDITOR"]
    twin.same_objects("cm/conf")
