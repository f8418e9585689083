"""Pure parts of the agent's join: certificate re-use, URLs, settings, local secrets, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from k3trio.agent.join import (
    AgentPaths,
    CAHashMismatch,
    ClusterSettings,
    JoinError,
    JoinRefused,
    _load_or_make_key,
    _node_password,
    certificate_still_good,
    check_server_url,
    make_csr,
)
from k3trio.apiserver.supervisor_api import csr_public_key
from k3trio.pki import CertificateAuthority, kubelet_serving_spec, node_client_spec
from k3trio.pki.certs import generate_ec_key, public_key_bytes

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.generate("test-ca", now=NOW - timedelta(days=1))


def test_certificate_reuse_rules(ca: CertificateAuthority) -> None:
    key = generate_ec_key()
    spec = node_client_spec("n1")
    good = ca.issue(spec, key=key, now=NOW).cert_pem
    assert certificate_still_good(good, key, ca.cert, spec, now=NOW)
    # Missing or garbage.
    assert not certificate_still_good(None, key, ca.cert, spec, now=NOW)
    assert not certificate_still_good(b"junk", key, ca.cert, spec, now=NOW)
    # Another key, another CA, another identity.
    assert not certificate_still_good(good, generate_ec_key(), ca.cert, spec, now=NOW)
    other_ca = CertificateAuthority.generate("other", now=NOW - timedelta(days=1))
    assert not certificate_still_good(good, key, other_ca.cert, spec, now=NOW)
    assert not certificate_still_good(good, key, ca.cert, node_client_spec("n2"), now=NOW)
    # Renewed when fewer than 90 days remain.
    assert certificate_still_good(good, key, ca.cert, spec, now=NOW + timedelta(days=270))
    assert not certificate_still_good(good, key, ca.cert, spec, now=NOW + timedelta(days=280))


def test_serving_certificate_follows_addresses(ca: CertificateAuthority) -> None:
    key = generate_ec_key()
    spec = kubelet_serving_spec("n1", ["10.0.0.5"])
    cert = ca.issue(spec, key=key, now=NOW).cert_pem
    assert certificate_still_good(cert, key, ca.cert, kubelet_serving_spec("n1", ["10.0.0.5"]), now=NOW)
    assert not certificate_still_good(cert, key, ca.cert, kubelet_serving_spec("n1", ["10.0.0.6"]),
                                      now=NOW)


def test_csr_carries_the_key() -> None:
    key = generate_ec_key()
    assert public_key_bytes(key) == public_key_bytes_of(csr_public_key(make_csr(key, "x")))


def public_key_bytes_of(public_key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("url, expected", [
    ("https://10.0.0.1:6443", "https://10.0.0.1:6443"),
    ("https://server.example/", "https://server.example"),
    ("https://[fd00::1]:6443", "https://[fd00::1]:6443"),
])
def test_server_urls(url: str, expected: str) -> None:
    assert check_server_url(url) == expected


@pytest.mark.parametrize("url", ["http://h:6443", "h:6443", "https://", "https://h:99999",
                                 "https://h:6443/api"])
def test_bad_server_urls(url: str) -> None:
    with pytest.raises(JoinError, match="expected https://HOST:PORT"):
        check_server_url(url)


def test_cluster_settings() -> None:
    doc = {"clusterCIDR": "10.52.0.0/16", "serviceCIDR": "10.53.0.0/16", "clusterDNS": "10.53.0.10",
           "clusterDomain": "example.local", "extra": 1}
    got = ClusterSettings.from_json(json.dumps(doc).encode())
    assert (got.cluster_cidr, got.service_cidr, got.cluster_dns, got.cluster_domain) == (
        "10.52.0.0/16", "10.53.0.0/16", "10.53.0.10", "example.local")
    assert ClusterSettings.from_json(b"{}") == ClusterSettings()
    for bad in (b"nope", b"[]"):
        with pytest.raises(JoinError):
            ClusterSettings.from_json(bad)


def test_local_secrets_persist(tmp_path: Path) -> None:
    paths = AgentPaths.under(tmp_path)
    paths.dir.mkdir(parents=True)
    password = _node_password(paths.node_password)
    assert len(password) == 32 and _node_password(paths.node_password) == password
    assert paths.node_password.stat().st_mode & 0o777 == 0o600
    key = _load_or_make_key(paths.key("client-kubelet"))
    assert public_key_bytes(_load_or_make_key(paths.key("client-kubelet"))) == public_key_bytes(key)
    paths.key("client-kubelet").write_bytes(b"garbage")
    replaced = _load_or_make_key(paths.key("client-kubelet"))
    assert public_key_bytes(replaced) != public_key_bytes(key)
    assert paths.key("client-kubelet").stat().st_mode & 0o777 == 0o600


def test_error_messages_are_one_line() -> None:
    assert str(CAHashMismatch()) == ("the server's CA does not match the token's hash; "
                                     "check --token and --server")
    assert "check --token" in str(JoinRefused(401, "/v1-k3trio/config", "Unauthorized"))
    forbidden = JoinRefused(403, "/v1-k3trio/client-kubelet.crt", "node password rejected")
    assert str(forbidden) == "the server refused this node (403 Forbidden): node password rejected"
    assert str(JoinRefused(404, "/x", "gone")) == "the server answered 404 to /x: gone"
