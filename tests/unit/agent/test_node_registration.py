"""The Node object a kubelet registers, and its conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from k3trio.agent.node import (
    KUBELET_VERSION,
    NETWORK_NOT_READY,
    NodeConfig,
    build_node,
    node_conditions,
    status_differs,
)
from k3trio.agent.node.registration import (
    go_arch,
    host_os_image,
    kubelet_resource,
    reconcile_existing,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def cfg(**kw: object) -> NodeConfig:
    base: dict[str, object] = dict(name="n1", internal_ip="10.0.0.7", kernel_version="6.1.0",
                                   os_image="Debian GNU/Linux 12 (bookworm)",
                                   architecture="amd64", boot_id="b")
    base.update(kw)
    return NodeConfig(**base)  # type: ignore[arg-type]


def test_node_shape_matches_a_registering_kubelet() -> None:
    node = build_node(cfg(cpu="4", memory="16Gi", pods=110, pod_cidr="10.42.3.0/24",
                          provider_id="k3trio://n1", labels={"team": "a"}),
                      ready=True, not_ready_message="", now=T0)
    meta, spec, status = node["metadata"], node["spec"], node["status"]
    assert meta["labels"] == {
        "team": "a",
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "k3s",
        "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "k3s",
    }
    assert meta["annotations"]["volumes.kubernetes.io/controller-managed-attach-detach"] == "true"
    assert spec == {"podCIDR": "10.42.3.0/24", "podCIDRs": ["10.42.3.0/24"],
                    "providerID": "k3trio://n1"}
    assert status["capacity"] == {"cpu": "4", "ephemeral-storage": "104857600Ki",
                                  "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                                  "memory": "16777216Ki", "pods": "110"}
    assert status["allocatable"] == status["capacity"]
    assert status["addresses"] == [{"type": "InternalIP", "address": "10.0.0.7"},
                                   {"type": "Hostname", "address": "n1"}]
    info = status["nodeInfo"]
    assert info["kubeletVersion"] == KUBELET_VERSION == "v1.36.0+k3trio1"
    assert info["operatingSystem"] == "linux" and info["architecture"] == "amd64"
    assert info["osImage"] == "Debian GNU/Linux 12 (bookworm)" and info["kernelVersion"] == "6.1.0"
    assert info["containerRuntimeVersion"].startswith("containerd://")
    assert len(info["machineID"]) == 32 and info["systemUUID"].count("-") == 4
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    types = [c["type"] for c in status["conditions"]]
    assert types == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]


def test_reserved_resources_lower_allocatable() -> None:
    node = build_node(cfg(reserved={"cpu": "500m", "memory": "1Gi"}), ready=True,
                      not_ready_message="", now=T0)
    assert node["status"]["allocatable"]["cpu"] == "3500m"
    assert node["status"]["allocatable"]["memory"] == "15728640Ki"


def test_kubelet_resource_spelling() -> None:
    assert kubelet_resource("memory", "1Gi") == "1048576Ki"
    assert kubelet_resource("memory", "1G") == "976562Ki"
    assert kubelet_resource("cpu", "2000m") == "2"
    assert kubelet_resource("pods", "110") == "110"


def test_conditions_wording_and_transition_times() -> None:
    first = node_conditions([], ready=False, not_ready_message=NETWORK_NOT_READY, now=T0)
    ready = first[-1]
    assert ready == {"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                     "message": NETWORK_NOT_READY, "lastHeartbeatTime": "2026-01-02T03:04:05Z",
                     "lastTransitionTime": "2026-01-02T03:04:05Z"}
    assert first[0]["reason"] == "KubeletHasSufficientMemory"
    assert first[0]["message"] == "kubelet has sufficient memory available"
    assert first[1]["reason"] == "KubeletHasNoDiskPressure"
    assert first[2]["reason"] == "KubeletHasSufficientPID"
    later = T0 + timedelta(seconds=30)
    second = node_conditions(first, ready=True, not_ready_message="", now=later)
    assert second[-1]["reason"] == "KubeletReady"
    assert second[-1]["message"] == "kubelet is posting ready status"
    assert second[-1]["lastTransitionTime"] == "2026-01-02T03:04:35Z"
    # Unchanged conditions keep their transition time, heartbeats move.
    assert second[0]["lastTransitionTime"] == "2026-01-02T03:04:05Z"
    assert second[0]["lastHeartbeatTime"] == "2026-01-02T03:04:35Z"


def test_status_differs_ignores_heartbeats_only() -> None:
    c = cfg()
    a = build_node(c, ready=True, not_ready_message="", now=T0)["status"]
    b = build_node(c, ready=True, not_ready_message="", now=T0 + timedelta(seconds=10))["status"]
    b["conditions"] = node_conditions(a["conditions"], ready=True, not_ready_message="",
                                      now=T0 + timedelta(seconds=10))
    assert not status_differs(a, b)
    b["conditions"] = node_conditions(a["conditions"], ready=False, not_ready_message="x",
                                      now=T0 + timedelta(seconds=10))
    assert status_differs(a, b)
    assert status_differs(a, {**a, "capacity": {**a["capacity"], "pods": "10"}})


def test_reconcile_existing_restores_kubelet_labels_only() -> None:
    wanted = build_node(cfg(), ready=True, not_ready_message="", now=T0)
    existing = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1",
                                                      "user": "x"}}}
    patch = reconcile_existing(existing, wanted)
    assert patch is not None
    assert "user" not in patch["metadata"]["labels"]
    assert patch["metadata"]["labels"]["kubernetes.io/os"] == "linux"
    assert "kubernetes.io/hostname" not in patch["metadata"]["labels"]
    assert reconcile_existing(wanted, wanted) is None


def test_host_facts(tmp_path: Path) -> None:
    assert go_arch("x86_64") == "amd64" and go_arch("aarch64") == "arm64"
    release = tmp_path / "os-release"
    release.write_text('NAME="X"\nPRETTY_NAME="X Linux 1.0"\n')
    assert host_os_image(release) == "X Linux 1.0"
    assert host_os_image(tmp_path / "missing") == "Linux"
