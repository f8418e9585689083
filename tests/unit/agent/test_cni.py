"""The bridge conflist for a node's podCIDR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k3trio.agent.cni import CONFLIST_NAME, bridge_conflist, write_conflist


def test_bridge_conflist_for_a_pod_cidr() -> None:
    conf = bridge_conflist(["10.42.0.0/24"], ipam_dir=Path("/d/ipam"))
    assert conf["cniVersion"] == "1.0.0"
    bridge, portmap = conf["plugins"]
    assert bridge["type"] == "bridge"
    assert bridge["bridge"] == "cni0"
    assert bridge["isGateway"] is True
    assert bridge["ipMasq"] is True
    assert bridge["ipam"] == {
        "type": "host-local",
        "ranges": [[{"subnet": "10.42.0.0/24", "gateway": "10.42.0.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "/d/ipam",
    }
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}


def test_dual_stack_ranges() -> None:
    conf = bridge_conflist(["10.42.1.0/24", "fd00:42:1::/64"])
    ipam = conf["plugins"][0]["ipam"]
    assert [r[0]["subnet"] for r in ipam["ranges"]] == ["10.42.1.0/24", "fd00:42:1::/64"]
    assert {"dst": "::/0"} in ipam["routes"]


def test_no_cidr_is_an_error() -> None:
    with pytest.raises(ValueError):
        bridge_conflist([])


def test_write_only_when_changed(tmp_path: Path) -> None:
    assert write_conflist(tmp_path, ["10.42.0.0/24"]) is True
    assert write_conflist(tmp_path, ["10.42.0.0/24"]) is False
    assert json.loads((tmp_path / CONFLIST_NAME).read_text())["name"] == "k3trio"
    assert write_conflist(tmp_path, ["10.42.2.0/24"]) is True
    assert [p.name for p in tmp_path.iterdir()] == [CONFLIST_NAME]
