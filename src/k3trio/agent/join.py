"""Joining a cluster: trust the server through the token, then obtain this node's identity.

``join_cluster`` is what ``k3trio agent`` runs before anything else::

    1. parse the token: ``K10<ca-hash>::<user>:<secret>`` (or a short token: only a secret);
    2. GET /cacerts without verifying TLS; sha256 of the body must be the token's hash
       (a short token trusts the first answer, as K3s does); from here on TLS is verified
       against that CA;
    3. GET /v1-k3trio/client-ca.crt and /v1-k3trio/config with the token's secret
       (HTTP basic ``node:<secret>``);
    4. keep the kubelet's client and serving certificates if they are still good, else POST
       a CSR for this node's own key to /v1-k3trio/{client,serving}-kubelet.crt with the
       headers k3trio-Node-Name, k3trio-Node-Password and k3trio-Node-IP; the same for the
       service proxy's certificate (/v1-k3trio/client-kube-proxy.crt);
    5. write kubelet.kubeconfig and kubeproxy.kubeconfig.

Files, under ``<data-dir>/agent`` (see :class:`AgentPaths`)::

    server-ca.crt, client-ca.crt             0644  the cluster's CAs as the server gave them
    client-kubelet.{crt,key}                 0600  system:node:<name> in system:nodes
    serving-kubelet.{crt,key}                0600  the kubelet's serving certificate
    client-kube-proxy.{crt,key}              0600  system:kube-proxy (the service proxy)
    kubelet.kubeconfig, kubeproxy.kubeconfig 0600  server URL, server CA, client certificate
    node-password                            0600  this machine's claim on its node name

Invariants:
- private keys are made here and never leave the machine; a key is kept across restarts and
  only replaced when it cannot be read (its certificates are then re-issued);
- a certificate is re-used only if it matches its key, was issued by the current CA, carries
  exactly the identity (and SANs) wanted and has more than ``RENEW_BEFORE`` left;
- nothing is trusted before the CA hash check, and nothing secret is sent before it;
- every write is atomic with its final mode, key before certificate.

Errors (each ``str()`` is one line for the command line)::

    JoinError
    ├── BadToken            the token cannot be parsed
    ├── CAHashMismatch      /cacerts is not the CA the token names
    ├── ServerUnreachable   no answer within the wait (refused, DNS, TLS, timeout)
    └── JoinRefused         the server said no (401 bad token, 403 node password, ...)
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from ..client.config import ClientConfig
from ..client.errors import ConnectionFailed, transport_errors
from ..client.transport import build_http_client
from ..pki import CertificateError, TokenError, kubelet_serving_spec, node_client_spec, parse_token, verify_ca_hash
from ..pki.certs import (
    RENEW_BEFORE,
    CertSpec,
    PrivateKey,
    encode_key_pem,
    expires_within,
    generate_ec_key,
    is_issued_by,
    key_matches_cert,
    load_cert_pem,
    load_certs_pem,
    load_key_pem,
    matches_spec,
)
from ..pki.files import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, atomic_write, read_optional
from ..pki.kubeconfig import write_kubeconfig

__all__ = [
    "AgentPaths",
    "BadToken",
    "CAHashMismatch",
    "ClusterSettings",
    "JoinError",
    "JoinRefused",
    "JoinedNode",
    "ServerUnreachable",
    "certificate_still_good",
    "join_cluster",
]

log = logging.getLogger("k3trio.agent.join")

CLIENT_KUBELET = "client-kubelet"
SERVING_KUBELET = "serving-kubelet"
CLIENT_KUBE_PROXY = "client-kube-proxy"
KUBE_PROXY_USER = "system:kube-proxy"
REQUEST_TIMEOUT = 10.0


class JoinError(Exception):
    """The node could not join; ``str()`` is a one-line explanation."""


class BadToken(JoinError):
    pass


class CAHashMismatch(JoinError):
    def __init__(self, server: str = "") -> None:
        super().__init__("the server's CA does not match the token's hash; check --token and --server")
        self.server = server


class ServerUnreachable(JoinError):
    pass


class JoinRefused(JoinError):
    """The server answered with an error ``status``."""

    def __init__(self, status: int, path: str, message: str) -> None:
        what = {401: "the server refused the token (401 Unauthorized); check --token",
                403: f"the server refused this node (403 Forbidden): {message}"}.get(
            status, f"the server answered {status} to {path}: {message}")
        super().__init__(what)
        self.status = status
        self.path = path
        self.message = message


@attrs.frozen(slots=True)
class AgentPaths:
    """Where a joined agent keeps its credentials."""

    dir: Path

    @classmethod
    def under(cls, data_dir: Path) -> AgentPaths:
        return cls(Path(data_dir) / "agent")

    def crt(self, base: str) -> Path:
        return self.dir / f"{base}.crt"

    def key(self, base: str) -> Path:
        return self.dir / f"{base}.key"

    @property
    def server_ca(self) -> Path:
        return self.dir / "server-ca.crt"

    @property
    def client_ca(self) -> Path:
        return self.dir / "client-ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubelet.kubeconfig"

    @property
    def proxy_kubeconfig(self) -> Path:
        return self.dir / "kubeproxy.kubeconfig"

    @property
    def node_password(self) -> Path:
        return self.dir / "node-password"


@attrs.frozen(slots=True)
class ClusterSettings:
    """The cluster facts an agent needs (the server's ``/v1-k3trio/config``)."""

    cluster_cidr: str = "10.42.0.0/16"
    service_cidr: str = "10.43.0.0/16"
    cluster_dns: str = "10.43.0.10"
    cluster_domain: str = "cluster.local"
    service_node_port_range: str = "30000-32767"

    @classmethod
    def from_json(cls, body: bytes) -> ClusterSettings:
        """Raises JoinError for a body that is not a JSON object."""
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise JoinError(f"the server's agent configuration is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise JoinError("the server's agent configuration is not a JSON object")
        default = cls()
        return cls(
            cluster_cidr=str(doc.get("clusterCIDR") or default.cluster_cidr),
            service_cidr=str(doc.get("serviceCIDR") or default.service_cidr),
            cluster_dns=str(doc.get("clusterDNS") or default.cluster_dns),
            cluster_domain=str(doc.get("clusterDomain") or default.cluster_domain),
            service_node_port_range=str(doc.get("serviceNodePortRange")
                                        or default.service_node_port_range),
        )


@attrs.frozen(slots=True)
class JoinedNode:
    """The outcome of a join: where the credentials are and what the cluster said."""

    server: str
    node_name: str
    paths: AgentPaths
    ca_pem: bytes
    settings: ClusterSettings
    #: Which certificates (``client-kubelet``, ``serving-kubelet``, ``client-kube-proxy``)
    #: were issued by this join.
    issued: frozenset[str]

    def client_config(self, component: str = "kubelet") -> ClientConfig:
        """A client config presenting the node's certificate (from ``kubelet.kubeconfig``)."""
        return ClientConfig.from_kubeconfig(self.paths.kubeconfig, component=component)

    def proxy_client_config(self, component: str = "kube-proxy") -> ClientConfig:
        """A client config as ``system:kube-proxy`` (from ``kubeproxy.kubeconfig``)."""
        return ClientConfig.from_kubeconfig(self.paths.proxy_kubeconfig, component=component)


# -- pure helpers ------------------------------------------------------------------------------


def certificate_still_good(cert_pem: bytes | None, key: PrivateKey, ca: x509.Certificate,
                           spec: CertSpec, *, now: datetime) -> bool:
    """True if ``cert_pem`` can be kept (see the module invariants)."""
    if not cert_pem:
        return False
    try:
        leaf = load_cert_pem(cert_pem)
    except CertificateError:
        return False
    return (key_matches_cert(key, leaf) and is_issued_by(leaf, ca) and matches_spec(leaf, spec)
            and not expires_within(leaf, RENEW_BEFORE, now=now))


def make_csr(key: PrivateKey, common_name: str) -> bytes:
    """A PEM CSR for ``key`` (the server decides the certificate's content anyway)."""
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def check_server_url(server: str) -> str:
    """``server`` without a trailing slash. Raises JoinError unless it is https://host[:port]."""
    parts = urlsplit(server.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme != "https" or not parts.hostname or port == -1 or parts.path.strip("/"):
        raise JoinError(f"invalid --server {server!r}: expected https://HOST:PORT")
    return server.strip().rstrip("/")


def _load_or_make_key(path: Path) -> PrivateKey:
    data = read_optional(path)
    if data is not None:
        try:
            return load_key_pem(data)
        except CertificateError:
            log.warning("Replacing unreadable key %s", path)
    key = generate_ec_key()
    atomic_write(path, encode_key_pem(key), PRIVATE_FILE_MODE)
    return key


def _node_password(path: Path) -> str:
    data = read_optional(path)
    if data is not None and data.strip():
        return data.decode("utf-8", "replace").strip()
    password = secrets.token_hex(16)
    atomic_write(path, (password + "\n").encode(), PRIVATE_FILE_MODE)
    return password


# -- the conversation with the server ------------------------------------------------------------


class _Supervisor:
    """Requests to the server's supervisor endpoints (through the client's HTTP transport)."""

    def __init__(self, server: str, ca_pem: bytes | None, secret: str | None) -> None:
        config = ClientConfig(server=server, ca_pem=ca_pem, insecure_skip_tls_verify=ca_pem is None,
                              component="k3trio-agent", timeout=REQUEST_TIMEOUT, http2=False)
        self._server = server
        self._http = build_http_client(config)
        self._auth = ({"Authorization": "Basic " + base64.b64encode(f"node:{secret}".encode()).decode()}
                      if secret else {})

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            await self._http.aclose()

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                      body: bytes | None = None) -> bytes:
        url = self._server + path
        all_headers = {"Accept": "*/*", **self._auth, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-pem-file"
        with transport_errors(method, url):
            response = await self._http.request(method, path, headers=all_headers, content=body)
        if response.status_code >= 400:
            text = response.content.decode("utf-8", "replace").strip().splitlines()
            raise JoinRefused(response.status_code, path, text[0] if text else "")
        return response.content


async def _with_retries(what: str, server: str, wait: float, fn: Any, *args: Any) -> Any:
    """``await fn(*args)``, retrying connection failures (and 5xx) for ``wait`` seconds."""
    deadline = trio.current_time() + wait
    delay = 0.5
    while True:
        try:
            return await fn(*args)
        except (ConnectionFailed, JoinRefused) as exc:
            retryable = isinstance(exc, ConnectionFailed) or exc.status >= 500 or exc.status == 429
            if not retryable or trio.current_time() + delay > deadline:
                if isinstance(exc, ConnectionFailed):
                    raise ServerUnreachable(f"cannot reach the server at {server}: "
                                            f"{_reason(exc)}") from exc
                raise
            log.info("Waiting for the server at %s (%s): %s", server, what, _reason(exc))
        await trio.sleep(delay)
        delay = min(delay * 2, 5.0)


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


async def fetch_verified_ca(server: str, token: str, *, wait: float = 0.0) -> bytes:
    """The server CA bundle, checked against the token's hash.

    Raises:
        BadToken, CAHashMismatch, ServerUnreachable, JoinRefused.
    """
    try:
        parsed = parse_token(token)
    except TokenError as exc:
        raise BadToken(f"invalid token: {exc}") from exc
    anonymous = _Supervisor(server, None, None)
    try:
        ca_pem: bytes = await _with_retries("CA certificates", server, wait, anonymous.request,
                                            "GET", "/cacerts")
    finally:
        await anonymous.aclose()
    if parsed.ca_hash is None:
        log.warning("The token has no CA hash: trusting the CA the server at %s presented", server)
        try:
            load_certs_pem(ca_pem)
        except CertificateError as exc:
            raise JoinError(f"the server's /cacerts is not a certificate bundle: {exc}") from exc
    elif not verify_ca_hash(ca_pem, parsed.ca_hash):
        raise CAHashMismatch(server)
    return ca_pem


async def join_cluster(
    server: str,
    token: str,
    *,
    node_name: str,
    data_dir: Path,
    node_ips: Sequence[str] = (),
    wait: float = 0.0,
    now: datetime | None = None,
) -> JoinedNode:
    """Join (or re-join) ``server`` as ``node_name``; see the module docstring.

    Args:
        server: ``https://HOST:PORT`` of a server.
        token: the full ``K10`` token (or a short one).
        node_ips: this node's addresses, for the serving certificate's SANs.
        wait: seconds to keep retrying while the server cannot be reached.
        now: the current time (tests).

    Raises:
        JoinError: see the module's tree.
        OSError: the data directory cannot be written.
    """
    server = check_server_url(server)
    ca_pem = await fetch_verified_ca(server, token, wait=wait)
    secret = parse_token(token).secret
    paths = AgentPaths.under(data_dir)
    paths.dir.mkdir(parents=True, exist_ok=True)
    api = _Supervisor(server, ca_pem, secret)
    try:
        client_ca_pem: bytes = await _with_retries("client CA", server, wait, api.request, "GET",
                                                   "/v1-k3trio/client-ca.crt")
        settings = ClusterSettings.from_json(
            await _with_retries("agent configuration", server, wait, api.request, "GET",
                                "/v1-k3trio/config"))
        try:
            client_ca = load_cert_pem(client_ca_pem)
            server_ca = load_certs_pem(ca_pem)[0]
        except CertificateError as exc:
            raise JoinError(f"the server sent an unusable CA certificate: {exc}") from exc
        atomic_write(paths.server_ca, ca_pem, PUBLIC_FILE_MODE)
        atomic_write(paths.client_ca, client_ca_pem, PUBLIC_FILE_MODE)
        password = await trio.to_thread.run_sync(_node_password, paths.node_password)
        when = now or datetime.now(UTC)
        headers = {"k3trio-Node-Name": node_name, "k3trio-Node-Password": password,
                   "k3trio-Node-IP": ",".join(node_ips)}
        issued: set[str] = set()
        wanted = ((CLIENT_KUBELET, node_client_spec(node_name), client_ca),
                  (SERVING_KUBELET, kubelet_serving_spec(node_name, node_ips), server_ca),
                  (CLIENT_KUBE_PROXY, CertSpec.client(KUBE_PROXY_USER), client_ca))
        for base, spec, ca in wanted:
            key = await trio.to_thread.run_sync(_load_or_make_key, paths.key(base))
            if certificate_still_good(read_optional(paths.crt(base)), key, ca, spec, now=when):
                continue
            post = partial(api.request, "POST", f"/v1-k3trio/{base}.crt", headers=headers,
                           body=make_csr(key, spec.common_name))
            cert_pem: bytes = await _with_retries(f"{base} certificate", server, wait, post)
            if not certificate_still_good(cert_pem, key, ca, spec, now=when):
                raise JoinError(f"the server issued an unexpected {base} certificate")
            atomic_write(paths.crt(base), cert_pem, PRIVATE_FILE_MODE)
            issued.add(base)
            log.info("Obtained %s certificate for node %s", base, node_name)
    finally:
        await api.aclose()
    for base, kubeconfig in ((CLIENT_KUBELET, paths.kubeconfig),
                             (CLIENT_KUBE_PROXY, paths.proxy_kubeconfig)):
        write_kubeconfig(kubeconfig, server_url=server, ca_pem=ca_pem,
                         client_cert_pem=paths.crt(base).read_bytes(),
                         client_key_pem=paths.key(base).read_bytes(), mode=PRIVATE_FILE_MODE)
    return JoinedNode(server, node_name, paths, ca_pem, settings, frozenset(issued))
