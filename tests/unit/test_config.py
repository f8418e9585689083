"""Typed configuration: structuring, defaults, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from k3trio.cli.configfile import load_config_file
from k3trio.cli.main import load_settings
from k3trio.config import ConfigError, ServerConfig, structure


def test_defaults_follow_k3s():
    cfg = structure(ServerConfig, {})
    assert cfg.https_listen_port == 6443
    assert cfg.cluster_cidr == "10.42.0.0/16"
    assert cfg.service_cidr == "10.43.0.0/16"
    assert cfg.cluster_dns == "10.43.0.10"
    assert cfg.cluster_domain == "cluster.local"
    assert cfg.first_service_ip() == "10.43.0.1"
    assert cfg.kubeconfig_mode() == 0o600


def test_flag_names_with_dashes_and_types():
    cfg = structure(
        ServerConfig,
        {"https-listen-port": "7443", "tls-san": "a.example,b.example", "disable-agent": "true",
         "data-dir": "~/x", "write-kubeconfig-mode": "0644"},
    )
    assert cfg.https_listen_port == 7443
    assert cfg.tls_san == ("a.example", "b.example")
    assert cfg.disable_agent is True
    assert cfg.data_dir == Path.home() / "x"
    assert cfg.kubeconfig_mode() == 0o644


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nope": 1}, "unknown configuration key 'nope'"),
        ({"https-listen-port": "x"}, "invalid value for https-listen-port"),
        ({"https-listen-port": 70000}, "https-listen-port 70000 is not a valid port"),
        ({"service-cidr": "10.43.0.0/99"}, "service-cidr '10.43.0.0/99' is not a CIDR"),
        ({"node-ip": "1.2.3"}, "node-ip '1.2.3' is not an IP address"),
        ({"disable-agent": "maybe"}, "'maybe' is not a boolean"),
        ({"tls-san": {"a": 1}}, "expected a list of strings"),
        ({"write-kubeconfig-mode": "999"}, "not an octal file mode"),
        ({"service-node-port-range": "3-2"}, "not a range like 30000-32767"),
    ],
)
def test_bad_values_are_one_line_errors(data, message):
    with pytest.raises(ConfigError) as info:
        structure(ServerConfig, data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_config_file_then_env_then_flags(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text("https-listen-port: 1111\ntoken: from-file\nnode-name: file-node\n")
    monkeypatch.setenv("K3TRIO_TOKEN", "from-env")
    monkeypatch.setenv("K3TRIO_NODE_NAME", "env-node")
    settings = load_settings("server", {"config": str(path), "node-name": "flag-node"})
    assert settings["https-listen-port"] == 1111
    assert settings["token"] == "from-env"
    assert settings["node-name"] == "flag-node"


def test_missing_default_config_is_fine_but_named_one_must_exist(tmp_path, monkeypatch):
    import k3trio.cli.configfile as configfile

    monkeypatch.setattr(configfile, "default_config_file", lambda: tmp_path / "absent.yaml")
    assert load_config_file(None, "server") == {}
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "missing.yaml", "server")


def test_config_file_keys_are_checked_per_command(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("server: https://x:6443\n")
    assert load_config_file(path, "agent") == {"server": "https://x:6443"}
    with pytest.raises(ConfigError, match="unknown key 'server'"):
        load_config_file(path, "server")
