"""The server PKI on disk: generation, reuse, SANs, renewal, tokens and kubeconfigs."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from k3trio import pki
from k3trio.pki import certs

SANS = pki.ServingNames(
    hostname="node-a",
    node_ips=("192.168.50.10", "fd00::10"),
    advertise_address="192.168.50.11",
    tls_sans=("api.example.com", "203.0.113.7", "[2001:db8::7]", "Extra.Example.Org."),
)


def ensure(data_dir: Path, **overrides: object) -> pki.ServerPKI:
    kwargs: dict[str, object] = {
        "sans": SANS,
        "cluster_domain": "cluster.local",
        "service_ip": pki.first_service_ip("10.43.0.0/16"),
        "node_name": "node-a",
    }
    kwargs.update(overrides)
    return pki.ensure_server_pki(data_dir, **kwargs)  # type: ignore[arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def snapshot(tls_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(tls_dir.iterdir()) if p.name != ".lock"}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


# --- first start and restart ------------------------------------------------------------------


def test_first_start_generates_everything_quickly(data_dir: Path) -> None:
    started = time.perf_counter()
    p = ensure(data_dir)
    elapsed = time.perf_counter() - started
    print(f"first-start PKI generation: {elapsed * 1000:.1f} ms")
    assert elapsed < 3.0

    tls = data_dir / "server" / "tls"
    for base in (
        "server-ca",
        "client-ca",
        "request-header-ca",
        "serving-kube-apiserver",
        "serving-kubelet",
        "client-admin",
        "client-controller",
        "client-scheduler",
        "client-kube-apiserver",
        "client-kube-proxy",
        "client-k3trio-controller",
        "client-kubelet",
        "client-auth-proxy",
        "client-supervisor",
    ):
        assert (tls / f"{base}.crt").is_file(), base
        assert mode(tls / f"{base}.key") == 0o600, base
        assert base in p.generated
    assert mode(tls / "service.key") == 0o600
    assert (tls / "service.pub").is_file()
    assert mode(data_dir / "server") == 0o700
    assert mode(tls) == 0o700
    assert mode(data_dir / "server" / "token") == 0o600
    assert os.readlink(data_dir / "server" / "node-token") == "token"
    assert (data_dir / "server" / "node-token").read_text() == p.token + "\n"

    # Two distinct CAs; serving certs from the server CA, client certs from the client CA.
    assert p.server_ca.cert != p.client_ca.cert
    assert p.server_ca.signed(p.serving.cert)
    assert p.server_ca.signed(p.kubelet_serving.cert)
    for role, issued in p.clients.items():
        assert p.client_ca.signed(issued.cert), role
    assert p.request_header_ca is not None and p.auth_proxy is not None
    assert p.request_header_ca.signed(p.auth_proxy.cert)
    assert isinstance(p.serving.key, ec.EllipticCurvePrivateKey)
    assert p.serving.key.curve.name == "secp256r1"


def test_certificate_validity_periods(data_dir: Path) -> None:
    now = datetime.now(UTC)
    p = ensure(data_dir, now=now)
    ca_life = p.server_ca.cert.not_valid_after_utc - now
    leaf_life = p.serving.cert.not_valid_after_utc - now
    assert timedelta(days=3649) < ca_life <= timedelta(days=3650)
    assert timedelta(days=364) < leaf_life <= timedelta(days=365)
    assert p.serving.cert.not_valid_before_utc < now  # back-dated for clock skew
    bc = p.server_ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca
    leaf_bc = p.serving.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert not leaf_bc.ca


def test_restart_reuses_everything(data_dir: Path) -> None:
    first = ensure(data_dir)
    before = snapshot(data_dir / "server" / "tls")
    second = ensure(data_dir)
    assert second.generated == frozenset()
    assert snapshot(data_dir / "server" / "tls") == before
    assert second.token == first.token
    assert second.server_ca_pem == first.server_ca_pem
    assert second.ca_hash == first.ca_hash


def test_restart_tightens_loosened_key_modes(data_dir: Path) -> None:
    ensure(data_dir)
    key = data_dir / "server" / "tls" / "client-admin.key"
    os.chmod(key, 0o644)
    os.chmod(data_dir / "server" / "token", 0o644)
    ensure(data_dir)
    assert mode(key) == 0o600
    assert mode(data_dir / "server" / "token") == 0o600


def test_serving_cert_sans(data_dir: Path) -> None:
    p = ensure(data_dir)
    san = p.serving.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(san.get_values_for_type(x509.DNSName))
    ips = set(san.get_values_for_type(x509.IPAddress))
    assert dns == {
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        "node-a",
        "api.example.com",
        "extra.example.org",
    }
    assert ips == {
        ipaddress.ip_address(a)
        for a in (
            "127.0.0.1",
            "::1",
            "10.43.0.1",
            "192.168.50.10",
            "fd00::10",
            "192.168.50.11",
            "203.0.113.7",
            "2001:db8::7",
        )
    }
    assert certs.common_name(p.serving.cert) == "kube-apiserver"
    eku = p.serving.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]


def test_kubelet_serving_cert(data_dir: Path) -> None:
    p = ensure(data_dir)
    cert = p.kubelet_serving.cert
    assert certs.common_name(cert) == "system:node:node-a"
    assert certs.organizations(cert) == ("system:nodes",)
    alt = certs.alt_names_of(cert)
    assert set(alt.dns_names) == {"node-a", "localhost"}
    assert {str(i) for i in alt.ip_addresses} == {
        "127.0.0.1",
        "::1",
        "192.168.50.10",
        "fd00::10",
        "192.168.50.11",
    }


def test_san_change_reissues_serving_cert_but_keeps_ca(data_dir: Path) -> None:
    first = ensure(data_dir)
    tls = data_dir / "server" / "tls"
    before = snapshot(tls)
    changed = pki.ServingNames(
        hostname="node-a",
        node_ips=SANS.node_ips,
        advertise_address=SANS.advertise_address,
        tls_sans=(*SANS.tls_sans, "new.example.com", "198.51.100.1"),
    )
    second = ensure(data_dir, sans=changed)
    assert second.generated == frozenset({"serving-kube-apiserver"})
    after = snapshot(tls)
    assert after["server-ca.crt"] == before["server-ca.crt"]
    assert after["server-ca.key"] == before["server-ca.key"]
    assert after["serving-kube-apiserver.crt"] != before["serving-kube-apiserver.crt"]
    # Like K3s, the serving key survives a reissue.
    assert after["serving-kube-apiserver.key"] == before["serving-kube-apiserver.key"]
    assert second.server_ca.signed(second.serving.cert)
    assert second.token == first.token
    alt = certs.alt_names_of(second.serving.cert)
    assert "new.example.com" in alt.dns_names
    assert ipaddress.ip_address("198.51.100.1") in alt.ip_addresses

    # Removing a SAN also reissues (the certificate carries exactly what is configured).
    third = ensure(data_dir, sans=SANS)
    assert "new.example.com" not in certs.alt_names_of(third.serving.cert).dns_names
    assert third.server_ca_pem == first.server_ca_pem


def test_node_name_change_reissues_node_certs_only(data_dir: Path) -> None:
    ensure(data_dir)
    p = ensure(data_dir, node_name="node-b")
    assert p.generated == frozenset({"serving-kube-apiserver", "serving-kubelet", "client-kubelet"})
    assert certs.common_name(p.client("kubelet").cert) == "system:node:node-b"


def test_leaf_near_expiry_is_renewed_with_same_ca(data_dir: Path) -> None:
    now = datetime.now(UTC)
    old = ensure(data_dir, now=now - timedelta(days=300))  # leaves expire in 65 days
    fresh = ensure(data_dir, now=now)
    assert fresh.server_ca_pem == old.server_ca_pem
    assert "serving-kube-apiserver" in fresh.generated
    assert "client-admin" in fresh.generated
    assert fresh.serving.cert.not_valid_after_utc > now + timedelta(days=360)
    # 200 days in: more than 90 days left, nothing is renewed.
    calm = ensure(data_dir, now=now + timedelta(days=200))
    assert calm.generated == frozenset()


def test_missing_or_foreign_leaf_is_repaired(data_dir: Path) -> None:
    first = ensure(data_dir)
    tls = data_dir / "server" / "tls"
    (tls / "serving-kube-apiserver.crt").unlink()
    # A client cert signed by some other CA is replaced by one from the cluster's client CA.
    stranger = pki.CertificateAuthority.generate("stranger-ca")
    (tls / "client-admin.crt").write_bytes(
        stranger.issue_client_cert("system:admin", ["system:masters"], key=first.admin.key).cert_pem
    )
    p = ensure(data_dir)
    assert p.generated == frozenset({"serving-kube-apiserver", "client-admin"})
    assert p.client_ca.signed(p.admin.cert)
    assert p.server_ca_pem == first.server_ca_pem


def test_ca_without_key_is_an_error_not_a_new_ca(data_dir: Path) -> None:
    ensure(data_dir)
    ca_crt = (data_dir / "server" / "tls" / "server-ca.crt").read_bytes()
    (data_dir / "server" / "tls" / "server-ca.key").unlink()
    with pytest.raises(pki.PKIStateError):
        ensure(data_dir)
    assert (data_dir / "server" / "tls" / "server-ca.crt").read_bytes() == ca_crt


def test_ca_with_mismatched_key_is_an_error(data_dir: Path) -> None:
    ensure(data_dir)
    tls = data_dir / "server" / "tls"
    (tls / "server-ca.key").write_bytes((tls / "client-ca.key").read_bytes())
    with pytest.raises(pki.PKIStateError):
        ensure(data_dir)


def test_client_identities(data_dir: Path) -> None:
    p = ensure(data_dir)
    expected = {
        "admin": ("system:admin", ("system:masters",)),
        "controller": ("system:kube-controller-manager", ()),
        "scheduler": ("system:kube-scheduler", ()),
        "kube-apiserver": ("system:apiserver", ("system:masters",)),
        "kube-proxy": ("system:kube-proxy", ()),
        "k3trio-controller": ("system:k3trio-controller", ()),
        "kubelet": ("system:node:node-a", ("system:nodes",)),
    }
    for role, (user, groups) in expected.items():
        identity = pki.load_client_identity(p.client(role).cert_pem)
        assert identity == pki.ClientIdentity(user, groups), role
        eku = p.client(role).cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert list(eku.value) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    # The .crt file is the leaf followed by its CA, as K3s writes it.
    chain = pki.load_certs_pem((data_dir / "server/tls/client-admin.crt").read_bytes())
    assert chain == [p.admin.cert, p.client_ca.cert]


def test_service_account_key_pair(data_dir: Path) -> None:
    p = ensure(data_dir)
    key = pki.load_key_pem(p.service_account_key_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert (data_dir / "server/tls/service.pub").read_bytes() == p.service_account_public_pem
    assert certs.encode_public_key_pem(key) == p.service_account_public_pem
    # Deleting the public half regenerates it from the same key.
    (data_dir / "server/tls/service.pub").unlink()
    again = ensure(data_dir)
    assert again.service_account_key_pem == p.service_account_key_pem
    assert again.service_account_public_pem == p.service_account_public_pem


def test_invalid_tls_san_is_refused(data_dir: Path) -> None:
    bad = pki.ServingNames(hostname="node-a", tls_sans=("not a name",))
    with pytest.raises(pki.CertificateError):
        ensure(data_dir, sans=bad)


def test_first_service_ip() -> None:
    assert pki.first_service_ip("10.43.0.0/16") == "10.43.0.1"
    assert pki.first_service_ip("10.96.0.0/12,fd00:43::/112") == "10.96.0.1"
    assert pki.first_service_ip("fd00:43::/112") == "fd00:43::1"


# --- tokens -----------------------------------------------------------------------------------

TOKEN_RE = re.compile(r"^K10([0-9a-f]{64})::server:([0-9a-f]{32})$")


def test_generated_token_format_and_hash(data_dir: Path) -> None:
    p = ensure(data_dir)
    m = TOKEN_RE.match(p.token)
    assert m, p.token
    ca_file = (data_dir / "server" / "tls" / "server-ca.crt").read_bytes()
    assert m.group(1) == hashlib.sha256(ca_file).hexdigest()
    assert pki.verify_ca_hash(ca_file, m.group(1))
    assert (data_dir / "server" / "token").read_text() == p.token + "\n"

    parsed = pki.parse_token(p.token)
    assert parsed == (m.group(1), "server", m.group(2))
    other_ca = pki.CertificateAuthority.generate("other").cert_pem
    assert not pki.verify_ca_hash(other_ca, m.group(1))
    assert not pki.verify_ca_hash(b"garbage", m.group(1))


def test_bare_user_token_becomes_k10_token(data_dir: Path) -> None:
    p = ensure(data_dir, token="my-secret")
    assert p.token == f"K10{p.ca_hash}::server:my-secret"
    # Kept on restart without --token, and with the same --token.
    assert ensure(data_dir).token == p.token
    assert ensure(data_dir, token="my-secret").token == p.token
    # A new --token replaces the secret (as K3s updates the server password).
    assert ensure(data_dir, token="rotated").token == f"K10{p.ca_hash}::server:rotated"


def test_full_user_token_must_match_ca(data_dir: Path) -> None:
    p = ensure(data_dir)
    full = f"K10{p.ca_hash}::server:chosen"
    assert ensure(data_dir, token=full).token == full
    wrong = "K10" + "0" * 64 + "::server:chosen"
    with pytest.raises(pki.TokenCAMismatchError):
        ensure(data_dir, token=wrong)
    # A full token on a brand-new data dir cannot match the CA about to be created.
    with pytest.raises(pki.TokenCAMismatchError):
        ensure(data_dir.parent / "fresh", token=full)


def test_parse_token_forms() -> None:
    h = "ab" * 32
    assert pki.parse_token("s3cret") == (None, "", "s3cret")
    assert pki.parse_token("user:pass") == (None, "", "user:pass")
    assert pki.parse_token(f"K10{h}::server:pw:with:colons") == (h, "server", "pw:with:colons")
    assert pki.parse_token(f"K10{h.upper()}::node:pw") == (h, "node", "pw")
    assert pki.parse_token("K10::server:pw") == (None, "server", "pw")
    boot = pki.parse_token(f"K10{h}::abcdef.0123456789abcdef")
    assert boot.is_bootstrap_token
    assert boot == (h, "", "abcdef.0123456789abcdef")
    assert pki.parse_token("abcdef.0123456789abcdef").is_bootstrap_token
    for bad in (
        "",
        "   ",
        "K10abc::server:pw",
        f"K10{h}::server:",
        f"K10{h}::nocolon",
        "K10" + "zz" * 32 + "::server:pw",
    ):
        with pytest.raises(pki.TokenError):
            pki.parse_token(bad)


def test_format_token_bootstrap_and_bundle_hash() -> None:
    root = pki.CertificateAuthority.generate("root")
    pem = root.cert_pem
    assert pki.format_token(pem, "abcdef.0123456789abcdef") == (
        f"K10{hashlib.sha256(pem).hexdigest()}::abcdef.0123456789abcdef"
    )
    # A bundle of several certificates hashes as its root's DER (rotation-friendly).
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "inter")]))
        .issuer_name(root.cert.subject)
        .public_key(inter_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(hours=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root.key, hashes.SHA256())
    )
    bundle = certs.encode_cert_pem(inter_cert, root.cert)
    root_der_hash = hashlib.sha256(root.cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert pki.hash_ca(bundle) == root_der_hash
    assert pki.verify_ca_hash(bundle, root_der_hash)


# --- client certificates for joining nodes ----------------------------------------------------


def _csr(cn: str, orgs: list[str]) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    name.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(name))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, csr.public_bytes(serialization.Encoding.PEM)


def test_sign_client_csr_for_node(data_dir: Path) -> None:
    p = ensure(data_dir)
    key, csr = _csr("system:node:worker-1", ["system:nodes"])
    chain_pem = pki.sign_client_csr(p.client_ca, csr, common_name="system:node:worker-1")
    chain = pki.load_certs_pem(chain_pem)
    assert chain[1] == p.client_ca.cert
    assert p.client_ca.signed(chain[0])
    assert certs.key_matches_cert(key, chain[0])
    assert pki.load_client_identity(chain_pem) == pki.ClientIdentity(
        "system:node:worker-1", ("system:nodes",)
    )
    # The CSR asked to be a CA; the signer ignores requested extensions.
    bc = chain[0].extensions.get_extension_for_class(x509.BasicConstraints).value
    assert not bc.ca
    # Groups given by the server win over the CSR's.
    cert = p.client_ca.sign_client_csr(csr, groups=["system:nodes", "extra"])
    assert certs.organizations(cert) == ("system:nodes", "extra")


def test_sign_client_csr_rejects_other_identity_and_garbage(data_dir: Path) -> None:
    p = ensure(data_dir)
    _, csr = _csr("system:admin", ["system:masters"])
    with pytest.raises(pki.CSRRejectedError):
        pki.sign_client_csr(p.client_ca, csr, common_name="system:node:worker-1")
    with pytest.raises(pki.CSRRejectedError):
        pki.sign_client_csr(p.client_ca, b"not a csr")


def test_issue_client_cert_for_node(data_dir: Path) -> None:
    p = ensure(data_dir)
    issued = pki.issue_client_cert(p.client_ca, "system:node:worker-2", ["system:nodes"])
    assert issued.identity == pki.ClientIdentity("system:node:worker-2", ("system:nodes",))
    assert p.client_ca.signed(issued.cert)
    long_name = "n" * 120
    long_cert = p.client_ca.issue(pki.node_client_spec(long_name)).cert
    assert certs.common_name(long_cert) == "system:node:" + long_name


# --- kubeconfig -------------------------------------------------------------------------------


def test_kubeconfig_shape(data_dir: Path, tmp_path: Path) -> None:
    p = ensure(data_dir)
    path = tmp_path / "etc" / "k3s.yaml"
    pki.write_kubeconfig(
        path,
        server_url="https://127.0.0.1:6443",
        ca_pem=p.server_ca_pem,
        client_cert_pem=p.admin.cert_pem,
        client_key_pem=p.admin.key_pem,
    )
    assert mode(path) == 0o600
    doc = yaml.safe_load(path.read_text())
    assert doc["apiVersion"] == "v1"
    assert doc["kind"] == "Config"
    assert doc["current-context"] == "default"
    assert doc["preferences"] == {}
    assert doc["clusters"] == [
        {
            "cluster": {
                "certificate-authority-data": base64.b64encode(p.server_ca_pem).decode(),
                "server": "https://127.0.0.1:6443",
            },
            "name": "default",
        }
    ]
    assert doc["contexts"] == [
        {"context": {"cluster": "default", "user": "default"}, "name": "default"}
    ]
    user = doc["users"][0]
    assert user["name"] == "default"
    assert base64.b64decode(user["user"]["client-certificate-data"]) == p.admin.cert_pem
    assert base64.b64decode(user["user"]["client-key-data"]) == p.admin.key_pem

    material = pki.read_kubeconfig(path)
    assert material == pki.KubeconfigMaterial(
        server_url="https://127.0.0.1:6443",
        ca_pem=p.server_ca_pem,
        client_cert_pem=p.admin.cert_pem,
        client_key_pem=p.admin.key_pem,
    )


def test_kubeconfig_mode_is_honoured_on_existing_file(tmp_path: Path) -> None:
    ca = pki.CertificateAuthority.generate("ca")
    admin = ca.issue_client_cert("system:admin", ["system:masters"])
    path = tmp_path / "k3s.yaml"
    path.write_text("old")
    os.chmod(path, 0o600)
    old_umask = os.umask(0o077)
    try:
        pki.write_kubeconfig(
            path,
            server_url="https://x:6443",
            ca_pem=ca.cert_pem,
            client_cert_pem=admin.cert_pem,
            client_key_pem=admin.key_pem,
            mode=0o644,
            cluster_name="c",
            user="u",
            context="ctx",
        )
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o644
    doc = yaml.safe_load(path.read_text())
    assert doc["current-context"] == "ctx"
    assert doc["contexts"][0]["context"] == {"cluster": "c", "user": "u"}
    pki.write_kubeconfig(
        path,
        server_url="https://x:6443",
        ca_pem=ca.cert_pem,
        client_cert_pem=admin.cert_pem,
        client_key_pem=admin.key_pem,
    )
    assert mode(path) == 0o600
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temp left over


def test_read_kubeconfig_with_file_references(tmp_path: Path) -> None:
    ca = pki.CertificateAuthority.generate("ca")
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    (tmp_path / "kc").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "x",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": "https://h:1", "certificate-authority": "ca.crt"},
                    }
                ],
                "contexts": [
                    {"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "ns"}}
                ],
                "users": [{"name": "u", "user": {"token": "abc"}}],
            }
        )
    )
    m = pki.read_kubeconfig(tmp_path / "kc")
    assert m.ca_pem == ca.cert_pem and m.token == "abc" and m.namespace == "ns"
    with pytest.raises(pki.KubeconfigError):
        pki.read_kubeconfig(tmp_path / "kc", context="missing")
