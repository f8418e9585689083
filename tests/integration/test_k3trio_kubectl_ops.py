"""Node, rollout and wait commands through ``k3trio kubectl`` and the real kubectl. Each side
works on its own objects: the node is named after the side's namespace."""

from __future__ import annotations

import json

import pytest

from ._kubectl_compare import Pair, Twin
from ._server import ServerProcess
from .conftest import Kubectl, unique


@pytest.fixture(scope="module")
def pair(api_server: ServerProcess, kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return Pair(kubectl, api_server.kubeconfig, tmp_path_factory.mktemp("homes"))


@pytest.fixture
def twin(pair: Pair, kctl: Kubectl) -> Twin:
    real_ns, ours_ns = unique("real"), unique("ours")
    for ns in (real_ns, ours_ns):
        kctl.ok("create", "namespace", ns)
        kctl.ok("create", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": ns, "labels": {"pool": ns}}}))
    return Twin(pair, real_ns, ours_ns)


def test_cordon_taint_drain(twin: Twin) -> None:
    for args in (["cordon", "{ns}"], ["cordon", "{ns}"], ["uncordon", "{ns}"],
                 ["uncordon", "{ns}"], ["cordon", "-l", "pool={ns}"],
                 ["taint", "nodes", "{ns}", "k=v:NoSchedule"],
                 ["taint", "node", "{ns}", "k=v2:NoSchedule"],
                 ["taint", "node", "{ns}", "k=v2:NoSchedule", "--overwrite"],
                 ["taint", "node", "{ns}", "k2:NoExecute"], ["taint", "node", "{ns}", "k-"],
                 ["taint", "node", "{ns}", "k-"], ["taint", "node", "{ns}", "k=v:Bad"],
                 ["drain", "{ns}"], ["uncordon", "nosuchnode"]):
        twin.run(*args)
    twin.run("get", "node", "{ns}", "-o", "yaml", stdout="yaml")


def test_rollout_and_wait(twin: Twin) -> None:
    twin.run("create", "deployment", "web", "--image=nginx")
    for args in (["rollout", "status", "deploy/web", "--watch=false"],
                 ["rollout", "history", "deploy/web"], ["rollout", "pause", "deploy/web"],
                 ["rollout", "pause", "deploy/web"], ["rollout", "resume", "deploy/web"],
                 ["rollout", "resume", "deploy/web"], ["rollout", "history", "cm/x"],
                 ["rollout", "restart", "deployment", "web"],
                 ["wait", "--for=delete", "cm/nonexist", "--timeout=1s"],
                 ["wait", "--for=create", "deploy/web"],
                 ["wait", "--for=jsonpath={.spec.replicas}=1", "deploy/web"],
                 ["wait", "--for=condition=Nope", "deploy/web", "--timeout=1s"]):
        twin.run(*args)
