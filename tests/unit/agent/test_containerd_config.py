"""containerd configuration text and host detection."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from k3trio.agent.containerd import ContainerdPaths, detect_cgroup_driver, render_config
from k3trio.agent.containerd.process import RuntimeMissing, check_binaries

CRI = "io.containerd.grpc.v1.cri"


def _paths(tmp_path: Path) -> ContainerdPaths:
    return ContainerdPaths.under(tmp_path / "agent")


def test_layout_keeps_everything_under_the_agent_dir() -> None:
    agent = Path("/var/lib/k3trio/agent")
    p = ContainerdPaths.under(agent)
    for path in (p.config, p.root, p.state, p.socket, p.log, p.cni_conf_dir):
        assert path.is_relative_to(agent)
    assert p.socket == agent / "run" / "containerd" / "containerd.sock"
    assert p.log == agent / "containerd" / "containerd.log"


@pytest.mark.parametrize("driver", ["cgroupfs", "systemd"])
def test_config_parses_as_toml_with_the_cri_settings(tmp_path: Path, driver: str) -> None:
    p = _paths(tmp_path)
    text = render_config(p, sandbox_image="docker.io/k3trio/pause:catatonit",
                         cgroup_driver=driver, cni_bin_dir="/usr/lib/cni")
    cfg = tomllib.loads(text)
    assert cfg["version"] == 2
    assert cfg["root"] == str(p.root)
    assert cfg["state"] == str(p.state)
    assert cfg["grpc"]["address"] == str(p.socket)
    cri = cfg["plugins"][CRI]
    assert cri["sandbox_image"] == "docker.io/k3trio/pause:catatonit"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is (driver == "systemd")
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": str(p.cni_conf_dir),
                          "max_conf_num": 1}
    assert cri["restrict_oom_score_adj"] is False
    assert cfg["oom_score"] == -999


def test_restricted_oom_score_adj(tmp_path: Path) -> None:
    cfg = tomllib.loads(render_config(_paths(tmp_path), sandbox_image="p", cgroup_driver="cgroupfs",
                                      cni_bin_dir="/c", restrict_oom_score_adj=True))
    assert cfg["plugins"][CRI]["restrict_oom_score_adj"] is True
    assert cfg["oom_score"] == 0


def test_quotes_are_escaped(tmp_path: Path) -> None:
    p = ContainerdPaths.under(tmp_path / 'we"ird')
    cfg = tomllib.loads(render_config(p, sandbox_image="x", cgroup_driver="cgroupfs",
                                      cni_bin_dir="/c"))
    assert cfg["root"] == str(p.root)


def test_unknown_driver_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        render_config(_paths(tmp_path), sandbox_image="x", cgroup_driver="magic", cni_bin_dir="/c")


def test_cgroup_driver_detection(tmp_path: Path) -> None:
    v1 = tmp_path / "v1"
    v1.mkdir()
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpu memory\n")
    systemd = tmp_path / "systemd"
    systemd.mkdir()
    missing = tmp_path / "nosystemd"
    assert detect_cgroup_driver(v1, systemd) == "cgroupfs"
    assert detect_cgroup_driver(v2, systemd) == "systemd"
    assert detect_cgroup_driver(v2, missing) == "cgroupfs"


def test_missing_binaries_name_the_packages() -> None:
    with pytest.raises(RuntimeMissing, match="apt-get install containerd runc"):
        check_binaries(lambda name: None)
    with pytest.raises(RuntimeMissing, match="runc not found"):
        check_binaries(lambda name: "/usr/bin/containerd" if name == "containerd" else None)


def test_deep_data_dirs_get_a_short_socket_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 80) / "agent"
    p = ContainerdPaths.under(deep, short_run=tmp_path / "run")
    assert p.socket.parent.parent == tmp_path / "run"
    assert len(str(p.socket)) < 100
    assert p.state.parent == p.socket.parent
    assert ContainerdPaths.under(deep, short_run=tmp_path / "run") == p
    assert p.root.is_relative_to(deep)
