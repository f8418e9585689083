"""Kubeconfig and in-cluster configuration resolution."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from k3trio.client.config import ClientConfig, ConfigError, default_kubeconfig_paths


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write(path: Path, doc: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def two_context_doc() -> dict[str, object]:
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "a",
        "clusters": [
            {"name": "c1", "cluster": {"server": "https://10.0.0.1:6443/",
                                       "certificate-authority-data": b64(b"CA1")}},
            {"name": "c2", "cluster": {"server": "https://h2:6443", "insecure-skip-tls-verify": True,
                                       "tls-server-name": "kubernetes"}},
        ],
        "contexts": [
            {"name": "a", "context": {"cluster": "c1", "user": "u1", "namespace": "team"}},
            {"name": "b", "context": {"cluster": "c2", "user": "u2"}},
        ],
        "users": [
            {"name": "u1", "user": {"client-certificate-data": b64(b"CERT"),
                                    "client-key-data": b64(b"KEY")}},
            {"name": "u2", "user": {"token": "abc", "client-certificate": "certs/u2.crt",
                                    "client-key": "certs/u2.key"}},
        ],
    }


def test_current_context(tmp_path: Path) -> None:
    cfg = ClientConfig.from_kubeconfig(write(tmp_path / "kc", two_context_doc()), component="t")
    assert cfg.server == "https://10.0.0.1:6443"
    assert cfg.ca_pem == b"CA1"
    assert (cfg.client_cert_pem, cfg.client_key_pem) == (b"CERT", b"KEY")
    assert cfg.namespace == "team"
    assert cfg.component == "t"
    assert not cfg.insecure_skip_tls_verify


def test_named_context_files_relative_to_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "u2.crt").write_bytes(b"C2")
    (tmp_path / "certs" / "u2.key").write_bytes(b"K2")
    path = write(tmp_path / "kc", two_context_doc())
    cfg = ClientConfig.from_kubeconfig(path, context="b", namespace="ns1")
    assert cfg.server == "https://h2:6443"
    assert cfg.insecure_skip_tls_verify
    assert cfg.tls_server_name == "kubernetes"
    assert cfg.token == "abc"
    assert (cfg.client_cert_pem, cfg.client_key_pem) == (b"C2", b"K2")
    assert cfg.namespace == "ns1"
    assert "abc" not in repr(cfg) and "K2" not in repr(cfg)


def test_kubeconfig_env_merges_first_wins(tmp_path: Path) -> None:
    first = write(tmp_path / "one", {"current-context": "x", "contexts": [
        {"name": "x", "context": {"cluster": "c", "user": "u"}}]})
    second = write(tmp_path / "two", {"current-context": "y", "clusters": [
        {"name": "c", "cluster": {"server": "https://s:1"}}], "users": [
        {"name": "u", "user": {"tokenFile": "tok"}}]})
    (tmp_path / "tok").write_text("from-file\n")
    env = {"KUBECONFIG": f"{first}:{tmp_path / 'missing'}:{second}"}
    assert default_kubeconfig_paths(env)[0] == first
    cfg = ClientConfig.from_kubeconfig(env=env)
    assert cfg.server == "https://s:1"
    assert cfg.token_file == tmp_path / "tok"
    assert cfg.current_token() == "from-file"
    assert cfg.namespace == "default"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update({"current-context": "nope"}), "context 'nope' does not exist"),
        (lambda d: d["contexts"][0]["context"].update({"cluster": "zz"}), "cluster 'zz'"),
        (lambda d: d["contexts"][0]["context"].update({"user": "zz"}), "user 'zz'"),
        (lambda d: d["clusters"][0]["cluster"].pop("server"), "has no server"),
        (lambda d: d["users"][0]["user"].update({"client-key-data": "!!"}), "not valid base64"),
    ],
)
def test_errors(tmp_path: Path, mutate: object, message: str) -> None:
    doc = two_context_doc()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message):
        ClientConfig.from_kubeconfig(write(tmp_path / "kc", doc))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        ClientConfig.from_kubeconfig(tmp_path / "absent")


def test_in_cluster(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tok1")
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "namespace").write_text("kube-system")
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    cfg = ClientConfig.in_cluster(env=env, sa_dir=tmp_path)
    assert cfg.server == "https://[fd00::1]:443"
    assert cfg.ca_pem == b"CA"
    assert cfg.namespace == "kube-system"
    assert cfg.current_token() == "tok1"
    (tmp_path / "token").write_text("tok2")
    assert cfg.current_token() == "tok2"
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        ClientConfig.in_cluster(env={}, sa_dir=tmp_path)


def test_ssl_context_insecure_and_pems() -> None:
    import ssl

    cfg = ClientConfig(server="https://x", insecure_skip_tls_verify=True)
    ctx = cfg.ssl_context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
