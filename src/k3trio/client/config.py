"""Where a client connects and with what credentials: ``ClientConfig`` and its sources.

Sources, as client-go's ``clientcmd`` and ``rest.InClusterConfig`` resolve them:

- a kubeconfig file (``from_kubeconfig``): the current context or a named one, the context's
  namespace, the cluster's ``server``, ``certificate-authority(-data)``,
  ``insecure-skip-tls-verify`` and ``tls-server-name``, the user's
  ``client-certificate(-data)``/``client-key(-data)``, ``token``/``tokenFile``. ``KUBECONFIG``
  may list several files (``:``-separated); the first file that defines a name wins, and
  relative paths resolve against the file that names them;
- the pod environment (``in_cluster``): ``KUBERNETES_SERVICE_HOST``/``_PORT`` and the service
  account directory (``token``, ``ca.crt``, ``namespace``); the token is re-read from its file
  because bound tokens rotate;
- PEM material handed over directly (``from_pems``), e.g. from ``k3trio.pki.ServerPKI``.

Parsing is pure apart from reading the named files; nothing here opens a connection.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from ..pki.tls import client_ssl_context
from .errors import ClientError

if TYPE_CHECKING:
    from ..pki import ServerPKI

__all__ = [
    "SERVICE_ACCOUNT_DIR",
    "ClientConfig",
    "ConfigError",
    "default_kubeconfig_paths",
]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class ConfigError(ClientError):
    """A kubeconfig or in-cluster environment is missing or malformed."""


@attrs.frozen(slots=True)
class ClientConfig:
    """Everything needed to reach one API server as one identity.

    Attributes:
        server: base URL, ``https://host:port`` (a path prefix is kept).
        ca_pem: trust anchors for the server certificate (system roots when None).
        insecure_skip_tls_verify: do not verify the server certificate at all.
        tls_server_name: the name to verify instead of the URL's host.
        client_cert_pem, client_key_pem: a client certificate to present.
        token: a bearer token; ``token_file`` is re-read periodically instead when set.
        namespace: the default namespace for namespaced single-object calls.
        component: names the caller in the user agent ``k3trio/<version> (<component>)``.
        timeout: per-request timeout in seconds (watches use their own read timeout).
        qps, burst: client-side throttling of requests (a token bucket, as client-go's
            ``rest.Config.QPS``/``Burst``); ``qps`` 0 turns it off.
        http2: offer HTTP/2 by ALPN (when ``h2`` is installed). Off by default: with several
            watch streams open on one HTTP/2 connection, httpx's HTTP/2 client can stall
            later requests on it; HTTP/1.1 gives each watch its own pooled connection.
    """

    server: str
    ca_pem: bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = attrs.field(default=None, repr=False)
    token: str | None = attrs.field(default=None, repr=False)
    token_file: Path | None = None
    namespace: str = "default"
    component: str = "client"
    timeout: float = 30.0
    qps: float = 0.0
    burst: int = 10
    http2: bool = False

    def evolve(self, **changes: Any) -> ClientConfig:
        """A copy with ``changes`` applied (e.g. ``component=``, ``namespace=``)."""
        return attrs.evolve(self, **changes)

    # -- sources ------------------------------------------------------------------------

    @classmethod
    def from_pems(
        cls,
        server: str,
        *,
        ca_pem: bytes | None,
        client_cert_pem: bytes | None = None,
        client_key_pem: bytes | None = None,
        token: str | None = None,
        namespace: str = "default",
        component: str = "client",
    ) -> ClientConfig:
        """A config from in-memory material (e.g. ``ServerPKI.client(role)``)."""
        return cls(
            server=server.rstrip("/"),
            ca_pem=ca_pem,
            client_cert_pem=client_cert_pem,
            client_key_pem=client_key_pem,
            token=token,
            namespace=namespace,
            component=component,
        )

    @classmethod
    def from_pki(
        cls, pki: ServerPKI, role: str, server: str, *, component: str | None = None
    ) -> ClientConfig:
        """The config of an in-process component presenting ``role``'s client certificate.

        Raises:
            KeyError: the PKI has no certificate for ``role``.
        """
        issued = pki.client(role)
        return cls.from_pems(
            server, ca_pem=pki.server_ca_pem, client_cert_pem=issued.cert_pem,
            client_key_pem=issued.key_pem, component=component or role,
        )

    @classmethod
    def from_kubeconfig(
        cls,
        path: Path | str | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        component: str = "client",
        env: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Resolve a kubeconfig context.

        Args:
            path: the file; None means ``$KUBECONFIG`` (several files merged) or
                ``~/.kube/config``.
            context: the context name (``--context``); the file's current-context if None.
            namespace: overrides the context's namespace (``--namespace``).

        Raises:
            ConfigError: no such file/context/cluster/user, no server, bad base64 or YAML.
        """
        paths = [Path(path)] if path is not None else default_kubeconfig_paths(env)
        merged = _merge_kubeconfigs(paths)
        return _resolve(merged, context=context, namespace=namespace, component=component)

    @classmethod
    def in_cluster(
        cls,
        *,
        env: Mapping[str, str] | None = None,
        sa_dir: Path = SERVICE_ACCOUNT_DIR,
        component: str = "client",
    ) -> ClientConfig:
        """The config of a process running in a pod with a mounted service account token.

        Raises:
            ConfigError: not in a cluster (no service env) or the token file is missing.
        """
        env = os.environ if env is None else env
        host = env.get("KUBERNETES_SERVICE_HOST", "")
        port = env.get("KUBERNETES_SERVICE_PORT", "")
        if not host or not port:
            raise ConfigError(
                "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                "KUBERNETES_SERVICE_PORT must be defined"
            )
        token_file = sa_dir / "token"
        if not token_file.is_file():
            raise ConfigError(f"in-cluster token file {token_file} is missing")
        ca_file = sa_dir / "ca.crt"
        ca_pem = ca_file.read_bytes() if ca_file.is_file() else None
        ns_file = sa_dir / "namespace"
        namespace = ns_file.read_text().strip() if ns_file.is_file() else "default"
        return cls(
            server=f"https://{_join_host_port(host, port)}",
            ca_pem=ca_pem,
            token_file=token_file,
            namespace=namespace or "default",
            component=component,
        )

    @classmethod
    def load(
        cls, *, context: str | None = None, component: str = "client",
        env: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Kubeconfig from the usual places if one exists, else the in-cluster config."""
        paths = [p for p in default_kubeconfig_paths(env) if p.is_file()]
        if paths:
            return cls.from_kubeconfig(paths[0] if len(paths) == 1 else None, context=context,
                                       component=component, env=env)
        return cls.in_cluster(env=env, component=component)

    # -- TLS ----------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """The client TLS context this config asks for.

        Raises:
            k3trio.pki.CertificateError: the PEM material cannot be loaded.
        """
        ctx = client_ssl_context(
            ca_pem=None if self.insecure_skip_tls_verify else self.ca_pem,
            client_cert_pem=self.client_cert_pem,
            client_key_pem=self.client_key_pem,
        )
        if self.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def current_token(self) -> str | None:
        """The bearer token now: read from ``token_file`` when set, else ``token``."""
        if self.token_file is not None:
            try:
                return self.token_file.read_text().strip() or None
            except OSError:
                return self.token
        return self.token


def default_kubeconfig_paths(env: Mapping[str, str] | None = None) -> list[Path]:
    """``$KUBECONFIG`` split on ``:`` (empty entries dropped), or ``~/.kube/config``."""
    env = os.environ if env is None else env
    value = env.get("KUBECONFIG", "")
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    home = env.get("HOME")
    base = Path(home) if home else Path.home()
    return [base / ".kube" / "config"]


# -- kubeconfig resolution -------------------------------------------------------------------


@attrs.frozen(slots=True)
class _Entry:
    value: dict[str, Any]
    base: Path  # the directory of the file that defined it


@attrs.define
class _Merged:
    current_context: str | None = None
    contexts: dict[str, _Entry] = attrs.Factory(dict)
    clusters: dict[str, _Entry] = attrs.Factory(dict)
    users: dict[str, _Entry] = attrs.Factory(dict)
    sources: list[Path] = attrs.Factory(list)


def _merge_kubeconfigs(paths: list[Path]) -> _Merged:
    merged = _Merged()
    for path in paths:
        if len(paths) > 1 and not path.exists():
            continue  # upstream skips missing entries of a KUBECONFIG list
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read kubeconfig {path}: {exc}") from exc
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}: not a kubeconfig")
        merged.sources.append(path)
        if merged.current_context is None and doc.get("current-context"):
            merged.current_context = str(doc["current-context"])
        base = path.parent
        for section, key, target in (
            ("contexts", "context", merged.contexts),
            ("clusters", "cluster", merged.clusters),
            ("users", "user", merged.users),
        ):
            for item in doc.get(section) or []:
                if not isinstance(item, dict) or "name" not in item:
                    continue
                value = item.get(key) or {}
                if isinstance(value, dict):
                    target.setdefault(str(item["name"]), _Entry(value, base))
    if not merged.sources:
        raise ConfigError("no kubeconfig file found in " + ", ".join(map(str, paths)))
    return merged


def _resolve(
    merged: _Merged, *, context: str | None, namespace: str | None, component: str
) -> ClientConfig:
    where = ", ".join(map(str, merged.sources))
    name = context or merged.current_context
    if not name:
        raise ConfigError(f"{where}: no current-context is set")
    ctx = merged.contexts.get(name)
    if ctx is None:
        raise ConfigError(f"{where}: context {name!r} does not exist")
    cluster_name = ctx.value.get("cluster")
    cluster = merged.clusters.get(str(cluster_name))
    if cluster is None:
        raise ConfigError(f"{where}: cluster {cluster_name!r} of context {name!r} does not exist")
    user_name = ctx.value.get("user")
    user = merged.users.get(str(user_name)) if user_name else None
    if user_name and user is None:
        raise ConfigError(f"{where}: user {user_name!r} of context {name!r} does not exist")
    server = cluster.value.get("server")
    if not server:
        raise ConfigError(f"{where}: cluster {cluster_name!r} has no server")
    u = user.value if user else {}
    ubase = user.base if user else cluster.base
    token_file = u.get("tokenFile")
    return ClientConfig(
        server=str(server).rstrip("/"),
        ca_pem=_data_or_file(cluster.value, "certificate-authority", cluster.base),
        insecure_skip_tls_verify=bool(cluster.value.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.value.get("tls-server-name") or None,
        client_cert_pem=_data_or_file(u, "client-certificate", ubase),
        client_key_pem=_data_or_file(u, "client-key", ubase),
        token=u.get("token") or None,
        token_file=(ubase / Path(token_file).expanduser()) if token_file else None,
        namespace=namespace or ctx.value.get("namespace") or "default",
        component=component,
    )


def _data_or_file(section: Mapping[str, Any], field: str, base: Path) -> bytes | None:
    data = section.get(f"{field}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"{field}-data is not valid base64") from exc
    ref = section.get(field)
    if ref:
        try:
            return (base / Path(ref).expanduser()).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {field} {ref}: {exc}") from exc
    return None


def _join_host_port(host: str, port: str) -> str:
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"
