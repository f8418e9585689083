"""The supervisor endpoints over real storage (in-memory store) and a real server PKI."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from k3trio.api.registry import BUILTIN
from k3trio.apiserver.factory import StorageSet
from k3trio.apiserver.serve import PEER_KEY
from k3trio.apiserver.storage.context import Plugins, RequestContext
from k3trio.apiserver.supervisor_api import (
    SupervisorAPI,
    check_password,
    hash_password,
    password_secret_name,
)
from k3trio.config import ServerConfig
from k3trio.pki import ClientIdentity, ServingNames, ensure_server_pki, parse_token
from k3trio.pki.certs import (
    common_name,
    generate_ec_key,
    is_issued_by,
    load_certs_pem,
    load_key_pem,
    organizations,
    alt_names_of,
    key_matches_cert,
    usages_of,
    Usage,
)
from k3trio.store import open_backend


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return ensure_server_pki(
        tmp_path_factory.mktemp("pki"), sans=ServingNames(hostname="srv", node_ips=("10.0.0.1",)),
        cluster_domain="cluster.local", service_ip="10.43.0.1", node_name="srv",
    )


@pytest.fixture
async def storages(tmp_path: Path, nursery: Any) -> Any:
    async with open_backend("memory://", tmp_path) as store:
        s = StorageSet(store, Plugins())
        await nursery.start(s.run)
        ns = s.storage(BUILTIN.get("", "v1", "namespaces"))
        await ns.create("", {"metadata": {"name": "kube-system"}}, RequestContext())
        yield s


class Inner:
    """The wrapped API app: records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"api"})


@pytest.fixture
def front(storages: Any, pki: Any) -> SupervisorAPI:
    cfg = ServerConfig(node_name="srv", cluster_dns="10.43.0.10", cluster_cidr="10.42.0.0/16")
    return SupervisorAPI(Inner(), storages, pki, cfg)


async def call(app: Any, path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
               body: bytes = b"", peer: Any = None) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http", "method": method, "path": path, "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        PEER_KEY: peer,
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    out: dict[str, Any] = {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            out["body"] = out.get("body", b"") + message.get("body", b"")

    await app(scope, receive, send)
    return out["status"], out["headers"], out["body"]


def basic(secret: str, user: str = "node") -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def node_headers(pki: Any, name: str, password: str = "pw-1", **extra: str) -> dict[str, str]:
    return {"Authorization": basic(parse_token(pki.token).secret), "k3trio-Node-Name": name,
            "k3trio-Node-Password": password, **extra}


def csr_for(key: Any, cn: str = "whatever") -> bytes:
    from cryptography.hazmat.primitives import serialization

    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


async def test_cacerts_is_anonymous_and_exactly_the_token_bytes(front: Any, pki: Any) -> None:
    from k3trio.pki import verify_ca_hash

    status, headers, body = await call(front, "/cacerts")
    assert status == 200 and body == pki.server_ca_pem
    assert verify_ca_hash(body, parse_token(pki.token).ca_hash)
    assert (await call(front, "/ping"))[2] == b"pong"


async def test_other_paths_reach_the_api(front: Any) -> None:
    status, _, body = await call(front, "/api/v1/nodes")
    assert (status, body) == (299, b"api")
    assert front.app.paths == ["/api/v1/nodes"]


@pytest.mark.parametrize("auth", [None, "Basic bm9kZTp3cm9uZw==", "Bearer wrong", "Basic !!!"])
async def test_node_paths_need_the_token(front: Any, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    for path in ("/v1-k3trio/config", "/v1-k3trio/server-ca.crt", "/v1-k3trio/client-kubelet.crt"):
        status, out, body = await call(front, path, headers=headers)
        assert status == 401, path
        assert out["www-authenticate"].startswith("Basic") and body.endswith(b"\n")


async def test_token_forms_and_config(front: Any, pki: Any) -> None:
    secret = parse_token(pki.token).secret
    for auth in (basic(secret), basic(secret, "server"), f"Bearer {secret}", f"Bearer {pki.token}"):
        status, headers, body = await call(front, "/v1-k3trio/config", headers={"Authorization": auth})
        assert status == 200, auth
    settings = json.loads(body)
    assert settings["clusterDNS"] == "10.43.0.10" and settings["clusterDomain"] == "cluster.local"
    assert settings["clusterCIDR"] == "10.42.0.0/16" and settings["serviceCIDR"] == "10.43.0.0/16"
    assert (await call(front, "/v1-k3trio/client-ca.crt",
                       headers={"Authorization": basic(secret)}))[2] == pki.client_ca_pem
    assert (await call(front, "/v1-k3trio/server-ca.crt",
                       headers={"Authorization": basic(secret)}))[2] == pki.server_ca_pem
    assert (await call(front, "/v1-k3trio/nope", headers={"Authorization": basic(secret)}))[0] == 404
    assert (await call(front, "/v1-k3trio/config", method="POST",
                       headers={"Authorization": basic(secret)}))[0] == 405


async def test_client_cert_from_csr(front: Any, pki: Any, storages: Any) -> None:
    key = generate_ec_key()
    status, _, body = await call(front, "/v1-k3trio/client-kubelet.crt", method="POST",
                                 headers=node_headers(pki, "worker-1"), body=csr_for(key))
    assert status == 200, body
    leaf, ca = load_certs_pem(body)
    assert common_name(leaf) == "system:node:worker-1"
    assert organizations(leaf) == ("system:nodes",)  # the CSR's O was ignored
    assert usages_of(leaf) == {Usage.CLIENT}
    assert key_matches_cert(key, leaf) and is_issued_by(leaf, pki.client_ca.cert)
    assert ca == pki.client_ca.cert
    secrets = storages.storage(BUILTIN.get("", "v1", "secrets"))
    stored = (await secrets.get("kube-system", "worker-1.node-password.k3trio")).obj
    assert stored["immutable"] is True and "pw-1" not in json.dumps(stored)
    assert check_password("pw-1", base64.b64decode(stored["data"]["hash"]).decode())


async def test_serving_cert_sans_and_server_made_key(front: Any, pki: Any) -> None:
    headers = node_headers(pki, "worker-2", **{"k3trio-Node-IP": "192.168.1.5, fd00::5"})
    status, _, body = await call(front, "/v1-k3trio/serving-kubelet.crt", headers=headers)
    assert status == 200, body
    leaf, ca = load_certs_pem(body)
    key = load_key_pem(body[body.index(b"-----BEGIN EC PRIVATE KEY"):])
    assert key_matches_cert(key, leaf) and is_issued_by(leaf, pki.server_ca.cert)
    assert common_name(leaf) == "system:node:worker-2" and usages_of(leaf) == {Usage.SERVER}
    sans = alt_names_of(leaf)
    assert "worker-2" in sans.dns_names and "localhost" in sans.dns_names
    assert {str(ip) for ip in sans.ip_addresses} >= {"192.168.1.5", "fd00::5", "127.0.0.1"}


async def test_a_claimed_name_needs_its_password(front: Any, pki: Any) -> None:
    path = "/v1-k3trio/client-kubelet.crt"
    csr = csr_for(generate_ec_key())
    assert (await call(front, path, method="POST", headers=node_headers(pki, "w3", "first"),
                       body=csr))[0] == 200
    assert (await call(front, path, method="POST", headers=node_headers(pki, "w3", "first"),
                       body=csr))[0] == 200
    status, _, body = await call(front, path, method="POST", headers=node_headers(pki, "w3", "second"),
                                 body=csr)
    assert status == 403 and b"already claimed" in body
    # The server's own node name is never handed out.
    status, _, body = await call(front, path, method="POST", headers=node_headers(pki, "srv"), body=csr)
    assert status == 403 and b"server's own node" in body


async def test_bad_requests(front: Any, pki: Any) -> None:
    path = "/v1-k3trio/client-kubelet.crt"
    csr = csr_for(generate_ec_key())
    cases = [
        (node_headers(pki, ""), csr, b"k3trio-node-name"),
        (node_headers(pki, "Bad_Name"), csr, b"invalid node name"),
        (node_headers(pki, "w4", ""), csr, b"k3trio-node-password"),
        (node_headers(pki, "w4"), b"not a csr", b"cannot parse"),
        (node_headers(pki, "w4", **{"k3trio-Node-IP": "nope"}), csr, b"k3trio-node-ip"),
    ]
    for headers, body, message in cases:
        status, _, out = await call(front, path, method="POST", headers=headers, body=body)
        assert status == 400 and message in out, (headers, out)
    # Nothing was claimed by the refused requests.
    status, _, _ = await call(front, path, method="POST", headers=node_headers(pki, "w4", "x"),
                              body=csr)
    assert status == 200


async def test_node_certificate_renews_only_its_own_name(front: Any, pki: Any) -> None:
    path = "/v1-k3trio/client-kubelet.crt"
    csr = csr_for(generate_ec_key())
    headers = node_headers(pki, "w5", "p5")
    assert (await call(front, path, method="POST", headers=headers, body=csr))[0] == 200
    peer = ClientIdentity("system:node:w5", ("system:nodes",))
    own = {k: v for k, v in headers.items() if k != "Authorization"}
    assert (await call(front, path, method="POST", headers=own, body=csr, peer=peer))[0] == 200
    other = dict(own, **{"k3trio-Node-Name": "w6"})
    status, _, body = await call(front, path, method="POST", headers=other, body=csr, peer=peer)
    assert status == 403 and b"may not request" in body
    admin = ClientIdentity("system:admin", ("system:masters",))
    assert (await call(front, "/v1-k3trio/config", peer=admin))[0] == 401


def test_password_hash_round_trip() -> None:
    encoded = hash_password("s3cret")
    assert encoded.startswith("$scrypt$ln=14,r=8,p=1$")
    assert check_password("s3cret", encoded)
    assert not check_password("s3cret!", encoded)
    assert hash_password("s3cret") != encoded  # salted
    for bad in ("", "$scrypt$", "$md5$a$b$c", encoded.replace("ln=14", "ln=99"), encoded + "!"):
        assert not check_password("s3cret", bad)
    assert password_secret_name("n1") == "n1.node-password.k3trio"


async def test_kube_proxy_certificate(front: Any, pki: Any) -> None:
    key = generate_ec_key()
    secret = parse_token(pki.token).secret
    status, _, body = await call(front, "/v1-k3trio/client-kube-proxy.crt", method="POST",
                                 headers={"Authorization": basic(secret)}, body=csr_for(key))
    assert status == 200, body
    leaf, _ = load_certs_pem(body)
    assert common_name(leaf) == "system:kube-proxy" and organizations(leaf) == ()
    assert key_matches_cert(key, leaf) and is_issued_by(leaf, pki.client_ca.cert)
    assert (await call(front, "/v1-k3trio/client-kube-proxy.crt", method="POST",
                       body=csr_for(key)))[0] == 401


async def test_deleting_the_node_releases_its_name(front: Any, pki: Any, storages: Any,
                                                   nursery: Any) -> None:
    import trio

    nursery.start_soon(front.passwords.release_deleted_nodes)
    nodes = storages.storage(BUILTIN.get("", "v1", "nodes"))
    await nodes.create("", {"metadata": {"name": "w7"}}, RequestContext())
    path = "/v1-k3trio/client-kubelet.crt"
    csr = csr_for(generate_ec_key())
    assert (await call(front, path, method="POST", headers=node_headers(pki, "w7", "old"),
                       body=csr))[0] == 200
    assert (await call(front, path, method="POST", headers=node_headers(pki, "w7", "new"),
                       body=csr))[0] == 403
    await nodes.delete("", "w7", {}, RequestContext())
    secrets = storages.storage(BUILTIN.get("", "v1", "secrets"))
    with trio.fail_after(5):
        while await secrets.get_or_none("kube-system", password_secret_name("w7")) is not None:
            await trio.sleep(0.01)
    assert (await call(front, path, method="POST", headers=node_headers(pki, "w7", "new"),
                       body=csr))[0] == 200
    assert not await front.passwords.release("never-joined")
