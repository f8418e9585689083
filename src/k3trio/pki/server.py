"""The server's PKI on disk: create on first start, reuse (and repair) on every restart.

Layout (``<data-dir>/server``, mode 0700; ``tls/`` mode 0700; keys and token 0600)::

    server/token                         K10<sha256(server-ca.crt)>::server:<secret>
    server/node-token -> token           compatibility name, as K3s keeps it
    server/tls/server-ca.{crt,key}       signs serving certificates; /cacerts serves the .crt
    server/tls/client-ca.{crt,key}       signs client certificates (user = CN, groups = O)
    server/tls/request-header-ca.{crt,key}  signs the front-proxy client certificate
    server/tls/serving-kube-apiserver.{crt,key}
    server/tls/serving-kubelet.{crt,key}     this node's kubelet serving certificate
    server/tls/client-<role>.{crt,key}   one per entry of CLIENT_ROLES, plus client-kubelet
                                         (system:node:<node>) and client-auth-proxy
    server/tls/service.{key,pub}         service-account token signing key (RSA 2048)

Invariants:
- A CA is never replaced implicitly: if its certificate exists without a usable key (or the
  key does not match) ``PKIStateError`` is raised instead of minting a new CA, because a new
  CA silently breaks every joined node and every issued kubeconfig.
- A leaf is reissued, with its existing key unless its CA was just created, when it is
  missing, unparsable, not signed by its CA, does not match its key, differs from what is
  wanted (CN, O, SANs, usages), or expires within ``RENEW_BEFORE`` (90 days).
- Every write is atomic (temp file + rename) with its final mode; a key is written before
  its certificate so an interrupted start is repaired by the next one.
- The join token's hash is always recomputed from the current ``server-ca.crt`` bytes.
- Concurrent starts on one data directory are serialised by an ``flock`` on ``tls/.lock``.

Generation is CPU-bound and synchronous (~0.1-0.3 s on first start, dominated by the RSA
service-account key); from Trio, call it through ``trio.to_thread.run_sync``.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import logging
import os
import ssl
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import attrs
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import certs
from . import token as tokens
from .ca import CertificateAuthority, IssuedCert, kubelet_serving_spec, node_client_spec
from .certs import AltNames, CertSpec, PrivateKey
from .errors import CertificateError, PKIStateError
from .files import (
    PRIVATE_FILE_MODE,
    PUBLIC_FILE_MODE,
    atomic_write,
    ensure_mode,
    ensure_private_dir,
    read_optional,
)
from .kubeconfig import write_kubeconfig
from .tls import client_ssl_context, server_ssl_context

log = logging.getLogger(__name__)

PROGRAM = "k3trio"
MASTERS_GROUP = "system:masters"
AUTH_PROXY_USER = "system:auth-proxy"
APISERVER_SERVING_CN = "kube-apiserver"
SERVICE_ACCOUNT_KEY_BITS = 2048


@attrs.frozen(slots=True)
class ClientRole:
    """A fixed in-cluster identity that gets a client certificate from the client CA."""

    role: str
    user: str
    groups: tuple[str, ...] = ()

    @property
    def file_base(self) -> str:
        return f"client-{self.role}"


#: Upstream identities: the default RBAC policy binds system:kube-controller-manager,
#: system:kube-scheduler and system:kube-proxy; system:apiserver is the API server's own
#: identity (used to reach kubelets) and, like the admin, is in system:masters.
CLIENT_ROLES: tuple[ClientRole, ...] = (
    ClientRole("admin", "system:admin", (MASTERS_GROUP,)),
    ClientRole("supervisor", f"system:{PROGRAM}-supervisor", (MASTERS_GROUP,)),
    ClientRole("controller", "system:kube-controller-manager"),
    ClientRole("scheduler", "system:kube-scheduler"),
    ClientRole("kube-apiserver", "system:apiserver", (MASTERS_GROUP,)),
    ClientRole("kube-proxy", "system:kube-proxy"),
    ClientRole(f"{PROGRAM}-controller", f"system:{PROGRAM}-controller"),
)
KUBELET_ROLE = "kubelet"


def _tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)  # type: ignore[arg-type]


@attrs.frozen(slots=True)
class ServingNames:
    """The names this server is reached by, for the API serving certificate.

    ``tls_sans`` entries that parse as IP addresses become IP SANs, the rest DNS SANs.
    """

    hostname: str
    node_ips: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    advertise_address: str | None = None
    tls_sans: tuple[str, ...] = attrs.field(default=(), converter=_tuple)


def apiserver_alt_names(
    sans: ServingNames, *, cluster_domain: str, service_ip: str, node_name: str
) -> AltNames:
    """Every SAN the API serving certificate must carry.

    Raises:
        CertificateError: a name is neither an IP address nor a valid DNS name.
    """
    domain = cluster_domain.strip(".")
    fixed = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{domain}",
        "localhost",
        sans.hostname,
        node_name,
        "127.0.0.1",
        "::1",
        service_ip,
    ]
    if sans.advertise_address:
        fixed.append(sans.advertise_address)
    return AltNames.from_strings([*fixed, *sans.node_ips, *sans.tls_sans])


def first_service_ip(service_cidr: str) -> str:
    """The API server's ClusterIP: the first address of the (first) service CIDR.

    ``10.43.0.0/16`` gives ``10.43.0.1``; for a dual-stack ``a,b`` value the first family wins.
    """
    net = ipaddress.ip_network(service_cidr.split(",")[0].strip(), strict=False)
    if net.num_addresses < 2:
        raise ValueError(f"service CIDR {service_cidr!r} is too small")
    return str(net.network_address + 1)


@attrs.frozen(slots=True)
class ServerPaths:
    """Where each piece of the server PKI lives under ``<data-dir>/server``."""

    data_dir: Path

    @property
    def server_dir(self) -> Path:
        return self.data_dir / "server"

    @property
    def tls_dir(self) -> Path:
        return self.server_dir / "tls"

    @property
    def token_file(self) -> Path:
        return self.server_dir / "token"

    @property
    def node_token_file(self) -> Path:
        return self.server_dir / "node-token"

    @property
    def service_key(self) -> Path:
        return self.tls_dir / "service.key"

    @property
    def service_pub(self) -> Path:
        return self.tls_dir / "service.pub"

    def crt(self, base: str) -> Path:
        return self.tls_dir / f"{base}.crt"

    def key(self, base: str) -> Path:
        return self.tls_dir / f"{base}.key"


@attrs.frozen(slots=True)
class ServerPKI:
    """Everything ``ensure_server_pki`` produced or loaded."""

    paths: ServerPaths
    server_ca: CertificateAuthority
    client_ca: CertificateAuthority
    request_header_ca: CertificateAuthority | None
    #: The API server's serving certificate (chain: leaf, server CA).
    serving: IssuedCert
    #: This node's kubelet serving certificate (server CA).
    kubelet_serving: IssuedCert
    #: Client certificates by role: every ``CLIENT_ROLES`` role plus ``"kubelet"``.
    clients: Mapping[str, IssuedCert]
    #: Front-proxy client certificate (request-header CA), when that CA is enabled.
    auth_proxy: IssuedCert | None
    service_account_key_pem: bytes
    service_account_public_pem: bytes
    #: The full K10 join token, as written to ``server/token``.
    token: str
    #: The exact bytes of ``server-ca.crt``: the body of ``/cacerts`` and what the token hashes.
    server_ca_pem: bytes
    client_ca_pem: bytes
    #: File bases (``server-ca``, ``serving-kube-apiserver``, ``service``, ``token``...)
    #: written by this call; empty on a restart that reused everything.
    generated: frozenset[str]

    @property
    def ca_hash(self) -> str:
        return tokens.hash_ca(self.server_ca_pem)

    @property
    def admin(self) -> IssuedCert:
        return self.clients["admin"]

    def client(self, role: str) -> IssuedCert:
        """The client certificate for ``role`` (``admin``, ``controller``, ``kubelet``...)."""
        try:
            return self.clients[role]
        except KeyError:
            raise KeyError(f"no client certificate for role {role!r}") from None

    def server_ssl_context(self) -> ssl.SSLContext:
        """The API server's TLS context (see ``tls.server_ssl_context``)."""
        return server_ssl_context(
            cert_pem=self.serving.cert_pem,
            key_pem=self.serving.key_pem,
            client_ca_pem=self.client_ca_pem,
        )

    def client_ssl_context(self, role: str = "admin") -> ssl.SSLContext:
        """A client TLS context presenting ``role``'s certificate and trusting the server CA."""
        issued = self.client(role)
        return client_ssl_context(
            ca_pem=self.server_ca_pem,
            client_cert_pem=issued.cert_pem,
            client_key_pem=issued.key_pem,
        )

    def write_kubeconfig(
        self, path: Path | str, *, server_url: str, role: str = "admin", mode: int = 0o600
    ) -> None:
        """Write a K3s-shaped kubeconfig for ``role`` pointing at ``server_url``."""
        issued = self.client(role)
        write_kubeconfig(
            path,
            server_url=server_url,
            ca_pem=self.server_ca_pem,
            client_cert_pem=issued.cert_pem,
            client_key_pem=issued.key_pem,
            mode=mode,
        )


def ensure_server_pki(
    data_dir: Path | str,
    *,
    sans: ServingNames,
    cluster_domain: str,
    service_ip: str,
    node_name: str,
    token: str | None = None,
    request_header_ca: bool = True,
    now: datetime | None = None,
) -> ServerPKI:
    """Create or load the server PKI under ``<data_dir>/server`` (see the module docstring).

    Args:
        sans: the names and addresses the API server is reached by.
        cluster_domain: e.g. ``cluster.local``.
        service_ip: the first service ClusterIP (``first_service_ip("10.43.0.0/16")``).
        node_name: this node's name (serving SAN, kubelet certificates).
        token: the user's ``--token``: a bare secret or a full K10 token for this CA.
        request_header_ca: also maintain the front-proxy CA and its client certificate.
        now: the current time (tests only).

    Raises:
        PKIStateError: a CA on disk is unusable; an operator must decide what to do.
        TokenError: ``token`` is malformed.
        TokenCAMismatchError: ``token`` is a full token naming a different CA.
        CertificateError: a SAN is invalid.
        OSError: the data directory cannot be written.
    """
    now = now or datetime.now(UTC)
    paths = ServerPaths(Path(data_dir))
    alt_names = apiserver_alt_names(
        sans, cluster_domain=cluster_domain, service_ip=service_ip, node_name=node_name
    )
    kubelet_addresses = [a for a in (*sans.node_ips, sans.advertise_address) if a]
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    ensure_private_dir(paths.server_dir)
    ensure_private_dir(paths.tls_dir)

    with _locked(paths.tls_dir / ".lock"):
        generated: set[str] = set()
        server_ca, new_server_ca = _ensure_ca(
            paths, "server-ca", f"{PROGRAM}-server", now, generated
        )
        client_ca, new_client_ca = _ensure_ca(
            paths, "client-ca", f"{PROGRAM}-client", now, generated
        )

        serving = _ensure_leaf(
            paths,
            "serving-kube-apiserver",
            server_ca,
            new_server_ca,
            CertSpec.server(APISERVER_SERVING_CN, alt_names),
            now,
            generated,
        )
        kubelet_serving = _ensure_leaf(
            paths,
            "serving-kubelet",
            server_ca,
            new_server_ca,
            kubelet_serving_spec(node_name, kubelet_addresses),
            now,
            generated,
        )
        clients: dict[str, IssuedCert] = {}
        for role in CLIENT_ROLES:
            clients[role.role] = _ensure_leaf(
                paths,
                role.file_base,
                client_ca,
                new_client_ca,
                CertSpec.client(role.user, role.groups),
                now,
                generated,
            )
        clients[KUBELET_ROLE] = _ensure_leaf(
            paths,
            "client-kubelet",
            client_ca,
            new_client_ca,
            node_client_spec(node_name),
            now,
            generated,
        )

        rh_ca: CertificateAuthority | None = None
        auth_proxy: IssuedCert | None = None
        if request_header_ca:
            rh_ca, new_rh = _ensure_ca(
                paths, "request-header-ca", f"{PROGRAM}-request-header", now, generated
            )
            auth_proxy = _ensure_leaf(
                paths,
                "client-auth-proxy",
                rh_ca,
                new_rh,
                CertSpec.client(AUTH_PROXY_USER),
                now,
                generated,
            )

        sa_key_pem, sa_pub_pem = _ensure_service_account_key(paths, generated)

        server_ca_pem = paths.crt("server-ca").read_bytes()
        full_token = _ensure_token(paths, server_ca_pem, token, generated)

    if generated:
        log.info("PKI: generated %s under %s", ", ".join(sorted(generated)), paths.tls_dir)
    return ServerPKI(
        paths=paths,
        server_ca=server_ca,
        client_ca=client_ca,
        request_header_ca=rh_ca,
        serving=serving,
        kubelet_serving=kubelet_serving,
        clients=MappingProxyType(clients),
        auth_proxy=auth_proxy,
        service_account_key_pem=sa_key_pem,
        service_account_public_pem=sa_pub_pem,
        token=full_token,
        server_ca_pem=server_ca_pem,
        client_ca_pem=paths.crt("client-ca").read_bytes(),
        generated=frozenset(generated),
    )


# --- steps ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _load_key_file(path: Path) -> PrivateKey | None:
    data = read_optional(path)
    if data is None:
        return None
    try:
        return certs.load_key_pem(data)
    except CertificateError:
        return None


def _ensure_ca(
    paths: ServerPaths, base: str, prefix: str, now: datetime, generated: set[str]
) -> tuple[CertificateAuthority, bool]:
    """Load CA ``base``; create it if absent. Returns (ca, created)."""
    crt_path, key_path = paths.crt(base), paths.key(base)
    cert_pem = read_optional(crt_path)
    key_pem = read_optional(key_path)
    if cert_pem is not None:
        if key_pem is None:
            raise PKIStateError(
                f"{crt_path} exists but its key {key_path} is missing; restore the key or "
                "remove both files to create a new CA (every node must then rejoin)"
            )
        try:
            ca = CertificateAuthority.from_pem(cert_pem, key_pem)
        except CertificateError as exc:
            raise PKIStateError(f"{crt_path}/{key_path} are unusable: {exc}") from exc
        ensure_mode(key_path, PRIVATE_FILE_MODE)
        if certs.expires_within(ca.cert, certs.RENEW_BEFORE, now=now):
            log.warning(
                "PKI: CA %s expires on %s; rotate it before then",
                ca.common_name,
                ca.cert.not_valid_after_utc.isoformat(),
            )
        return ca, False

    # No certificate: create one, keeping an existing key if there is a usable one.
    key = _load_key_file(key_path)
    if key is None:
        key = certs.generate_ec_key()
        atomic_write(key_path, certs.encode_key_pem(key), PRIVATE_FILE_MODE)
    ca = CertificateAuthority.generate(f"{prefix}-ca@{int(now.timestamp())}", now=now, key=key)
    atomic_write(crt_path, ca.cert_pem, PUBLIC_FILE_MODE)
    generated.add(base)
    return ca, True


def _ensure_leaf(
    paths: ServerPaths,
    base: str,
    ca: CertificateAuthority,
    ca_is_new: bool,
    spec: CertSpec,
    now: datetime,
    generated: set[str],
) -> IssuedCert:
    crt_path, key_path = paths.crt(base), paths.key(base)
    key = None if ca_is_new else _load_key_file(key_path)
    cert_pem = None if ca_is_new else read_optional(crt_path)
    if key is not None and cert_pem is not None:
        try:
            cert = certs.load_cert_pem(cert_pem)
        except CertificateError:
            cert = None
        if (
            cert is not None
            and certs.key_matches_cert(key, cert)
            and ca.signed(cert)
            and certs.matches_spec(cert, spec)
            and not certs.expires_within(cert, certs.RENEW_BEFORE, now=now)
        ):
            ensure_mode(key_path, PRIVATE_FILE_MODE)
            return IssuedCert(cert, key, (ca.cert,))
    if key is None:
        key = certs.generate_ec_key()
        atomic_write(key_path, certs.encode_key_pem(key), PRIVATE_FILE_MODE)
    else:
        ensure_mode(key_path, PRIVATE_FILE_MODE)
    issued = ca.issue(spec, key=key, now=now)
    atomic_write(crt_path, issued.cert_pem, PUBLIC_FILE_MODE)
    generated.add(base)
    return issued


def _ensure_service_account_key(paths: ServerPaths, generated: set[str]) -> tuple[bytes, bytes]:
    """RSA 2048, like kubeadm's sa.key and K3s's service.key: JWTs are then RS256, which every
    OIDC/JWT consumer must support (RFC 7518 marks it recommended; OIDC discovery mandates it).
    """
    key_pem = read_optional(paths.service_key)
    key: PrivateKey | None = None
    if key_pem is not None:
        try:
            key = certs.load_key_pem(key_pem)
        except CertificateError as exc:
            raise PKIStateError(
                f"{paths.service_key} is unusable ({exc}); every service-account token "
                "depends on it, remove it deliberately to create a new one"
            ) from exc
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise PKIStateError(f"{paths.service_key}: unsupported key type")
        ensure_mode(paths.service_key, PRIVATE_FILE_MODE)
    else:
        key = certs.generate_rsa_key(SERVICE_ACCOUNT_KEY_BITS)
        key_pem = certs.encode_key_pem(key)
        atomic_write(paths.service_key, key_pem, PRIVATE_FILE_MODE)
        generated.add("service")
    pub_pem = certs.encode_public_key_pem(key)
    if read_optional(paths.service_pub) != pub_pem:
        atomic_write(paths.service_pub, pub_pem, PUBLIC_FILE_MODE)
        generated.add("service")
    return key_pem, pub_pem


def _ensure_token(
    paths: ServerPaths, server_ca_pem: bytes, given: str | None, generated: set[str]
) -> str:
    stored_raw = read_optional(paths.token_file)
    stored = stored_raw.decode("utf-8", "replace").strip() if stored_raw is not None else None
    full = tokens.resolve_server_token(server_ca_pem, given=given, stored=stored)
    if stored != full:
        atomic_write(paths.token_file, (full + "\n").encode("utf-8"), PRIVATE_FILE_MODE)
        generated.add("token")
    else:
        ensure_mode(paths.token_file, PRIVATE_FILE_MODE)
    link = paths.node_token_file
    if not link.is_symlink() and not link.exists():
        with contextlib.suppress(FileExistsError):
            os.symlink("token", link)
    return full
