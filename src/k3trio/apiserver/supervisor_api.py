"""The supervisor endpoints: how a joining agent gets the cluster's trust and its identity.

They share the API server's port, in front of the Kubernetes API, as K3s's supervisor does:
:class:`SupervisorAPI` wraps the API server's ASGI app, answers the paths below itself and
hands every other request to the app unchanged. They are not Kubernetes resources, so neither
the API's authentication chain nor RBAC applies to them; each path has its own rule::

    GET  /cacerts                        anyone: the server CA bundle, exactly the bytes the
                                         join token's hash covers
    GET  /ping                           anyone: "pong"
    GET  /v1-k3trio/server-ca.crt        node credentials: the server CA (serving certs)
    GET  /v1-k3trio/client-ca.crt        node credentials: the client CA (API client certs)
    GET  /v1-k3trio/config               node credentials: the agent's cluster settings (JSON)
    POST /v1-k3trio/client-kubelet.crt   node credentials and node headers; body: a PEM CSR;
                                         answer: the certificate, then the client CA
    POST /v1-k3trio/serving-kubelet.crt  the same for the kubelet serving certificate (server CA)
    POST /v1-k3trio/client-kube-proxy.crt  node credentials; body: a PEM CSR; answer: a
                                         ``system:kube-proxy`` certificate (no node headers)
    GET  (any certificate path)          as POST, but the server makes the key and appends it
                                         to the answer (the shape K3s agents expect)

*Node credentials* are the join token's secret (HTTP basic ``node:<secret>``, or a bearer
``<secret>`` or full ``K10`` token), or a node's own client certificate
(``system:node:<name>`` in ``system:nodes``), so a joined node can renew after the token changed.
*Node headers*: ``k3trio-Node-Name`` and ``k3trio-Node-Password`` (both required),
``k3trio-Node-IP`` (comma-separated addresses for the serving certificate's SANs).

Node passwords: the first password used for a node name claims that name. The claim is a
Secret ``<node>.node-password.k3trio`` in ``kube-system`` holding an scrypt hash of the
password (never the password). A request for a claimed name with another password gets 403,
so a second machine that holds the join token still cannot take over an existing node's
identity. The server's own node name (when it runs its agent) can never be claimed. Deleting
the Secret releases the name.

Invariants:
- a certificate is only issued for the name in ``k3trio-Node-Name`` once its password is
  verified or its claim created; a certificate-authenticated caller can only ask for its own
  name;
- a CSR contributes only its public key: subject, usages and SANs are the server's choice;
- errors are one-line ``text/plain`` bodies; a 401 carries ``WWW-Authenticate: Basic``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import trio
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..api.errors import AlreadyExists, APIError
from ..api.names import is_dns1123_subdomain
from ..api.registry import BUILTIN
from ..pki import NODE_USER_PREFIX, NODES_GROUP, CertificateAuthority, kubelet_serving_spec
from ..pki import node_client_spec, parse_token
from ..pki.certs import CertSpec, build_leaf_certificate, encode_cert_pem
from .handlers.common import read_body
from .serve import PEER_KEY

if TYPE_CHECKING:
    from .factory import StorageSet

__all__ = [
    "CACERTS_PATH",
    "PREFIX",
    "NODE_IP_HEADER",
    "NODE_NAME_HEADER",
    "NODE_PASSWORD_HEADER",
    "NodePasswords",
    "SupervisorAPI",
    "SupervisorError",
    "check_password",
    "hash_password",
    "password_secret_name",
]

log = logging.getLogger("k3trio.supervisor-api")

CACERTS_PATH = "/cacerts"
PING_PATH = "/ping"
PREFIX = "/v1-k3trio/"
KUBE_PROXY_PATH = PREFIX + "client-kube-proxy.crt"
KUBE_PROXY_USER = "system:kube-proxy"
NODE_NAME_HEADER = "k3trio-node-name"
NODE_PASSWORD_HEADER = "k3trio-node-password"
NODE_IP_HEADER = "k3trio-node-ip"

PASSWORD_NAMESPACE = "kube-system"
PASSWORD_SECRET_SUFFIX = ".node-password.k3trio"
PASSWORD_SECRET_TYPE = "k3trio.io/node-password"
#: Join-token usernames accepted in basic credentials (K3s agents send ``node``).
TOKEN_USERNAMES = ("node", "server")
MAX_CSR_BYTES = 64 * 1024
MAX_PASSWORD_LENGTH = 512

# scrypt cost: ~30 ms and 16 MiB per check, paid once per certificate request.
_SCRYPT_N = 1 << 14
_SCRYPT_R = 8
_SCRYPT_P = 1


class SupervisorError(Exception):
    """A refused supervisor request: HTTP ``status`` and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- node passwords (pure) -------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """An scrypt hash of ``password``: ``$scrypt$ln=14,r=8,p=1$<salt>$<hash>`` (base64)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            dklen=32)
    ln = _SCRYPT_N.bit_length() - 1
    return f"$scrypt$ln={ln},r={_SCRYPT_R},p={_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, encoded: str) -> bool:
    """True if ``password`` hashes to ``encoded``; a malformed hash never matches."""
    try:
        _, scheme, params, salt_text, digest_text = encoded.split("$")
        if scheme != "scrypt":
            return False
        values = dict(p.split("=", 1) for p in params.split(","))
        ln, r, p = int(values["ln"]), int(values["r"]), int(values["p"])
        salt, digest = _unb64(salt_text), _unb64(digest_text)
        if not (1 <= ln <= 20 and 1 <= r <= 32 and 1 <= p <= 16) or not digest:
            return False
        actual = hashlib.scrypt(password.encode(), salt=salt, n=1 << ln, r=r, p=p,
                                dklen=len(digest), maxmem=256 * 1024 * 1024)
    except (ValueError, KeyError, binascii.Error):
        return False
    return hmac.compare_digest(actual, digest)


def password_secret_name(node_name: str) -> str:
    """The name of the Secret that holds ``node_name``'s password hash."""
    return node_name + PASSWORD_SECRET_SUFFIX


def check_node_name(name: str) -> None:
    """Raises SupervisorError(400) unless ``name`` can be a Node and have a password Secret."""
    if not name:
        raise SupervisorError(400, f"missing {NODE_NAME_HEADER} header")
    if is_dns1123_subdomain(name) or len(password_secret_name(name)) > 253:
        raise SupervisorError(400, f"invalid node name {name!r}")


class NodePasswords:
    """The node-name claims, kept as password-hash Secrets through the API's storage.

    Args:
        storages: the API server's storages (writes go through admission as the API server).
        reserved: names that can never be claimed (the server's own node).
    """

    def __init__(self, storages: StorageSet, reserved: Sequence[str] = ()) -> None:
        self._storages = storages
        self._reserved = frozenset(reserved)

    def _storage(self) -> Any:
        info = BUILTIN.get("", "v1", "secrets")
        assert info is not None
        return self._storages.storage(info)

    async def verify_or_claim(self, node_name: str, password: str) -> bool:
        """Check ``password`` against ``node_name``'s claim, claiming the name if it is free.

        Returns:
            True if this call created the claim.

        Raises:
            SupervisorError: 403 for a wrong password or a reserved name, 400 for a bad one.
        """
        check_node_name(node_name)
        if not password or len(password) > MAX_PASSWORD_LENGTH:
            raise SupervisorError(400, f"missing or invalid {NODE_PASSWORD_HEADER} header")
        if node_name in self._reserved:
            raise SupervisorError(403, f"node name {node_name!r} belongs to the server's own node")
        from .bootstrap import SYSTEM
        from .storage.context import RequestContext

        storage = self._storage()
        name = password_secret_name(node_name)
        for _ in range(2):
            found = await storage.get_or_none(PASSWORD_NAMESPACE, name)
            if found is not None:
                await self._verify(node_name, password, found.obj)
                return False
            encoded = await trio.to_thread.run_sync(hash_password, password)
            secret = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": PASSWORD_NAMESPACE},
                "type": PASSWORD_SECRET_TYPE,
                "immutable": True,
                "data": {"hash": base64.b64encode(encoded.encode()).decode("ascii")},
            }
            try:
                await storage.create(PASSWORD_NAMESPACE, secret,
                                     RequestContext(user=SYSTEM, field_manager="k3trio-supervisor"))
            except AlreadyExists:
                continue  # another request claimed it first: verify against that claim
            log.info("Node %s claimed its name (password hash in secret %s/%s)", node_name,
                     PASSWORD_NAMESPACE, name)
            return True
        raise SupervisorError(409, f"node password for {node_name!r} is being changed; retry")

    async def release(self, node_name: str) -> bool:
        """Delete ``node_name``'s claim; True if there was one."""
        from ..api.errors import NotFound
        from .bootstrap import SYSTEM
        from .storage.context import RequestContext

        try:
            await self._storage().delete(PASSWORD_NAMESPACE, password_secret_name(node_name), {},
                                         RequestContext(user=SYSTEM, field_manager="k3trio-supervisor"))
        except NotFound:
            return False
        log.info("Node %s was deleted: its name is free to claim again", node_name)
        return True

    async def release_deleted_nodes(self, api: Any = None) -> None:
        """Release the claim of every Node that is deleted, as K3s does (runs until cancelled).

        ``api`` is the ``APIServer`` when run as one of its background tasks (unused).
        """
        info = BUILTIN.get("", "v1", "nodes")
        assert info is not None
        cache = self._storages.cache(info)
        await cache.wait_ready()
        while True:
            watcher, _ = cache.watch(resource_version=cache.revision or 1)
            with watcher:
                async for event in watcher.receive:
                    if event.type == "DELETED":
                        try:
                            await self.release(event.obj.name)
                        except APIError as exc:
                            log.warning("Releasing the name of deleted node %s: %s", event.obj.name,
                                        exc.message)
            if watcher.overflowed:
                log.warning("Node watch for password claims fell behind; restarting it")
            await trio.sleep(0.5)

    async def _verify(self, node_name: str, password: str, secret: Mapping[str, Any]) -> None:
        try:
            encoded = base64.b64decode((secret.get("data") or {}).get("hash", "")).decode()
        except (binascii.Error, UnicodeDecodeError):
            encoded = ""
        if not await trio.to_thread.run_sync(check_password, password, encoded):
            log.warning("Node password rejected for %s: the name is claimed with another password",
                        node_name)
            raise SupervisorError(
                403,
                f"node password rejected: node name {node_name!r} is already claimed with another "
                f"password (a second machine with the same name, or its password file changed)",
            )


# -- certificates (pure) -------------------------------------------------------------------


def csr_public_key(csr_pem: bytes) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    """The public key of a PEM CSR whose self-signature verifies.

    Raises:
        SupervisorError: 400 for bad PEM, a bad signature or an unsupported/weak key.
    """
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise SupervisorError(400, f"cannot parse the certificate signing request: {exc}") from exc
    if not csr.is_signature_valid:
        raise SupervisorError(400, "the certificate signing request's signature is invalid")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise SupervisorError(400, "RSA keys shorter than 2048 bits are refused")
    if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise SupervisorError(400, f"unsupported key type {type(key).__name__}")
    return key


def issue(ca: CertificateAuthority, spec: CertSpec, csr_pem: bytes | None, now: datetime) -> bytes:
    """The answer to a certificate request: chain PEM, plus a new key's PEM when no CSR came."""
    if csr_pem:
        cert = build_leaf_certificate(spec, csr_public_key(csr_pem), issuer_cert=ca.cert,
                                      issuer_key=ca.key, now=now)
        return encode_cert_pem(cert, ca.cert)
    issued = ca.issue(spec, now=now)
    return issued.cert_pem + issued.key_pem


def node_addresses(header: str) -> list[str]:
    """The ``k3trio-Node-IP`` list. Raises SupervisorError(400) for a value that is no IP."""
    out: list[str] = []
    for raw in header.split(","):
        value = raw.strip()
        if not value:
            continue
        try:
            out.append(str(ipaddress.ip_address(value)))
        except ValueError:
            raise SupervisorError(400, f"invalid {NODE_IP_HEADER} value {value!r}") from None
    return out


# -- the ASGI front --------------------------------------------------------------------------


def _token_secrets(token: str | None) -> tuple[bytes, ...]:
    if not token:
        return ()
    try:
        parsed = parse_token(token)
    except Exception:
        log.warning("the join token is malformed; agents cannot join")
        return ()
    return tuple(dict.fromkeys(t.encode() for t in (token, parsed.secret) if t))


def agent_settings(config: Any) -> dict[str, str]:
    """The ``/v1-k3trio/config`` document: what an agent needs to know about the cluster."""
    return {
        "clusterCIDR": str(getattr(config, "cluster_cidr", "10.42.0.0/16")),
        "serviceCIDR": str(getattr(config, "service_cidr", "10.43.0.0/16")),
        "clusterDNS": str(getattr(config, "cluster_dns", "10.43.0.10")),
        "clusterDomain": str(getattr(config, "cluster_domain", "cluster.local")),
        "serviceNodePortRange": str(getattr(config, "service_node_port_range", "30000-32767")),
    }


class SupervisorAPI:
    """ASGI app: the supervisor paths (module doc), everything else to ``app``.

    Args:
        app: the API server's ASGI app.
        storages: for the node-password Secrets.
        pki: the ``ServerPKI`` (CAs and the join token).
        config: the ``ServerConfig`` (cluster settings for agents; the server's own node).
        now: the clock for certificate validity (tests).
    """

    def __init__(self, app: Any, storages: StorageSet, pki: Any, config: Any, *,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.app = app
        self._pki = pki
        self._now = now
        self._secrets = _token_secrets(getattr(pki, "token", None))
        own = getattr(config, "node_name", "") if not getattr(config, "disable_agent", True) else ""
        self.passwords = NodePasswords(storages, reserved=(own,) if own else ())
        self._settings = json.dumps(agent_settings(config), indent=2).encode()

    def __getattr__(self, name: str) -> Any:
        # Everything else (storages, registry...) is the wrapped app's.
        if name == "app":
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path in (CACERTS_PATH, PING_PATH) or path.startswith(PREFIX):
            try:
                status, body, content_type = await self._serve(scope, receive, path)
            except SupervisorError as exc:
                await _send(send, exc.status, (exc.message + "\n").encode(), "text/plain; charset=utf-8",
                            unauthorized=exc.status == 401)
            except APIError as exc:
                await _send(send, exc.code, (exc.message + "\n").encode(), "text/plain; charset=utf-8")
            except Exception:
                log.exception("internal error serving %s %s", scope.get("method"), path)
                await _send(send, 500, b"internal error\n", "text/plain; charset=utf-8")
            else:
                await _send(send, status, body, content_type)
            return
        await self.app(scope, receive, send)

    async def _serve(self, scope: dict[str, Any], receive: Any, path: str) -> tuple[int, bytes, str]:
        method = scope.get("method", "GET")
        cert_path = path in (PREFIX + "client-kubelet.crt", PREFIX + "serving-kubelet.crt",
                             KUBE_PROXY_PATH)
        allowed = ("GET", "POST") if cert_path else ("GET", "HEAD")
        if method not in allowed:
            raise SupervisorError(405, f"method {method} not allowed on {path}")
        if path == CACERTS_PATH:
            return 200, self._pki.server_ca_pem, "application/x-pem-file"
        if path == PING_PATH:
            return 200, b"pong", "text/plain"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        node_identity = self._authenticate(headers, scope.get(PEER_KEY))
        if path == PREFIX + "server-ca.crt":
            return 200, self._pki.server_ca_pem, "application/x-pem-file"
        if path == PREFIX + "client-ca.crt":
            return 200, self._pki.client_ca_pem, "application/x-pem-file"
        if path == PREFIX + "config":
            return 200, self._settings, "application/json"
        if not cert_path:
            raise SupervisorError(404, f"{path} not found")
        csr = await read_body(receive, MAX_CSR_BYTES) if method == "POST" else b""
        if method == "POST" and not csr:
            raise SupervisorError(400, "POST needs a PEM certificate signing request as its body")
        if csr:
            csr_public_key(csr)  # refuse a bad CSR before touching the node's claim
        if path == KUBE_PROXY_PATH:
            spec = CertSpec.client(KUBE_PROXY_USER)
            return 200, issue(self._pki.client_ca, spec, csr or None, self._now()), "application/x-pem-file"
        node_name = headers.get(NODE_NAME_HEADER, "").strip()
        check_node_name(node_name)
        if node_identity is not None and node_identity != node_name:
            raise SupervisorError(403, f"node {node_identity!r} may not request certificates for "
                                       f"node {node_name!r}")
        addresses = node_addresses(headers.get(NODE_IP_HEADER, ""))
        await self.passwords.verify_or_claim(node_name, headers.get(NODE_PASSWORD_HEADER, ""))
        now = self._now()
        if path.endswith("client-kubelet.crt"):
            body = issue(self._pki.client_ca, node_client_spec(node_name), csr or None, now)
        else:
            spec = kubelet_serving_spec(node_name, addresses)
            body = issue(self._pki.server_ca, spec, csr or None, now)
        log.info("Issued %s for node %s", path.removeprefix(PREFIX), node_name)
        return 200, body, "application/x-pem-file"

    def _authenticate(self, headers: Mapping[str, str], peer: Any) -> str | None:
        """Who is asking: None for the join token, a node name for a node's certificate.

        Raises:
            SupervisorError: 401 without valid node credentials.
        """
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        value = value.strip()
        given: bytes | None = None
        if scheme.lower() == "basic":
            try:
                user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, sep, password = "", "", ""
            if sep and user in TOKEN_USERNAMES:
                given = password.encode()
        elif scheme.lower() == "bearer":
            given = value.encode()
        if given is not None:
            matched = False
            for candidate in self._secrets:
                matched |= hmac.compare_digest(candidate, given)
            if matched:
                return None
        elif peer is not None:
            user_name = str(getattr(peer, "user", ""))
            groups = tuple(getattr(peer, "groups", ()) or ())
            if user_name.startswith(NODE_USER_PREFIX) and NODES_GROUP in groups:
                return user_name.removeprefix(NODE_USER_PREFIX)
        raise SupervisorError(401, "Unauthorized: node credentials (the join token) are required")


async def _send(send: Any, status: int, body: bytes, content_type: str, *,
                unauthorized: bool = False) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if unauthorized:
        headers.append((b"www-authenticate", b'Basic realm="k3trio"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
