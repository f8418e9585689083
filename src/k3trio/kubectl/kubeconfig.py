"""Kubeconfig loading, merging, resolution and writing, as kubectl's ``clientcmd`` does it.

Where the configuration comes from (first that applies):

1. ``--kubeconfig FILE`` (the file must exist);
2. ``$KUBECONFIG``, a ``:``-separated list merged in order (missing files are skipped);
3. ``~/.kube/config``;
4. when that does not exist either, the kubeconfig a k3trio server on this machine wrote
   (``/etc/k3trio/k3trio.yaml`` when running as root, else ``~/.k3trio/kubeconfig.yaml``),
   as ``k3s kubectl`` uses ``/etc/rancher/k3s/k3s.yaml``.

Merging: the first file that defines a cluster, user or context name wins, and so does the
first non-empty ``current-context``. Relative file references resolve against the file that
names them. With nothing loaded kubectl talks to ``http://localhost:8080``.

Writing (``config set-*``/``use-context``): an existing entry is changed in the file that
defined it; new entries and ``current-context`` go to the default destination (the explicit
file, else the first existing file of ``$KUBECONFIG``, else its last entry, else
``~/.kube/config``).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "Connection", "KubeConfig", "Overrides", "default_paths", "load"]


class ConfigError(Exception):
    """Unusable configuration; ``str(exc)`` is kubectl's message (without ``error: ``)."""


@dataclass
class Overrides:
    """The global connection flags of kubectl."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None
    server: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool | None = None
    tls_server_name: str | None = None
    impersonate: str | None = None
    impersonate_groups: list[str] = field(default_factory=list)
    request_timeout: float | None = None


@dataclass
class Connection:
    """Everything the REST transport needs for one server and identity."""

    server: str
    ca_pem: bytes | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    token: str | None = None
    token_file: Path | None = None
    username: str | None = None
    password: str | None = None
    impersonate: str | None = None
    impersonate_groups: list[str] = field(default_factory=list)
    namespace: str = "default"
    namespace_explicit: bool = False
    timeout: float | None = None
    context: str = ""

    def current_token(self) -> str | None:
        if self.token:
            return self.token
        if self.token_file is not None:
            try:
                return self.token_file.read_text().strip() or None
            except OSError:
                return None
        return None


@dataclass
class Entry:
    name: str
    value: dict[str, Any]
    source: Path | None


@dataclass
class KubeConfig:
    """The merged view of every loaded file."""

    files: list[Path] = field(default_factory=list)
    explicit: Path | None = None
    current_context: str = ""
    clusters: dict[str, Entry] = field(default_factory=dict)
    contexts: dict[str, Entry] = field(default_factory=dict)
    users: dict[str, Entry] = field(default_factory=dict)
    preferences: dict[str, Any] = field(default_factory=dict)
    env_paths: list[Path] = field(default_factory=list)

    # -- resolution -----------------------------------------------------------------------

    def context_name(self, ov: Overrides) -> str:
        return ov.context or self.current_context

    def connection(self, ov: Overrides) -> Connection:
        """Resolve the connection for the overrides.

        Raises:
            ConfigError: a named context, cluster or user does not exist, bad data.
        """
        name = self.context_name(ov)
        ctx: dict[str, Any] = {}
        if name:
            entry = self.contexts.get(name)
            if entry is None:
                if ov.context:
                    raise ConfigError(
                        f"context was not found for specified context: {name}")
            else:
                ctx = entry.value
        cluster_name = ov.cluster or ctx.get("cluster") or ""
        user_name = ov.user or ctx.get("user") or ""
        cluster_entry = self.clusters.get(cluster_name) if cluster_name else None
        if cluster_name and cluster_entry is None and ov.cluster:
            raise ConfigError(f"cluster \"{cluster_name}\" does not exist")
        user_entry = self.users.get(user_name) if user_name else None
        if user_name and user_entry is None and ov.user:
            raise ConfigError(f"auth info \"{user_name}\" does not exist")
        cluster = cluster_entry.value if cluster_entry else {}
        user = user_entry.value if user_entry else {}
        cbase = _base(cluster_entry)
        ubase = _base(user_entry)
        server = ov.server or cluster.get("server") or "http://localhost:8080"
        if "://" not in server:
            server = "https://" + server if ov.server else "http://" + server
        ca_pem = (
            Path(ov.certificate_authority).read_bytes() if ov.certificate_authority
            else _data_or_file(cluster, "certificate-authority", cbase)
        )
        insecure = bool(cluster.get("insecure-skip-tls-verify", False))
        if ov.insecure_skip_tls_verify is not None:
            insecure = ov.insecure_skip_tls_verify
        if ov.client_certificate or ov.client_key or ov.token:
            user = {}
        cert = (Path(ov.client_certificate).read_bytes() if ov.client_certificate
                else _data_or_file(user, "client-certificate", ubase))
        key = (Path(ov.client_key).read_bytes() if ov.client_key
               else _data_or_file(user, "client-key", ubase))
        token_file = user.get("tokenFile")
        namespace = ov.namespace or ctx.get("namespace") or "default"
        return Connection(
            server=server.rstrip("/"),
            ca_pem=ca_pem,
            insecure=insecure,
            tls_server_name=ov.tls_server_name or cluster.get("tls-server-name") or None,
            client_cert_pem=cert,
            client_key_pem=key,
            token=ov.token or user.get("token") or None,
            token_file=(ubase / os.path.expanduser(token_file)) if token_file else None,
            username=ov.username or user.get("username"),
            password=ov.password or user.get("password"),
            impersonate=ov.impersonate or user.get("as") or None,
            impersonate_groups=list(ov.impersonate_groups or user.get("as-groups") or []),
            namespace=namespace,
            namespace_explicit=bool(ov.namespace),
            timeout=ov.request_timeout,
            context=name,
        )

    # -- writing --------------------------------------------------------------------------

    def destination(self) -> Path:
        if self.explicit is not None:
            return self.explicit
        for p in self.env_paths:
            if p.exists():
                return p
        if self.env_paths:
            return self.env_paths[-1]
        return default_home() / ".kube" / "config"

    def to_document(self, *, names: Mapping[str, set[str]] | None = None) -> dict[str, Any]:
        """The merged configuration as one kubeconfig document (sorted by name)."""

        def section(entries: dict[str, Entry], key: str, kind: str) -> list[dict[str, Any]] | None:
            picked = [e for n, e in sorted(entries.items())
                      if names is None or n in names.get(kind, set())]
            if not picked:
                return None
            return [{key: e.value, "name": e.name} if key != "user"
                    else {"name": e.name, "user": e.value} for e in picked]

        doc: dict[str, Any] = {
            "apiVersion": "v1",
            "clusters": section(self.clusters, "cluster", "clusters"),
            "contexts": section(self.contexts, "context", "contexts"),
            "current-context": self.current_context,
            "kind": "Config",
        }
        if self.preferences:
            doc["preferences"] = self.preferences
        doc["users"] = section(self.users, "user", "users")
        return doc


def default_home() -> Path:
    home = os.environ.get("HOME")
    return Path(home) if home else Path.home()


def server_kubeconfig() -> Path:
    """The kubeconfig a local k3trio server writes (K3s: /etc/rancher/k3s/k3s.yaml)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/etc/k3trio/k3trio.yaml")
    return default_home() / ".k3trio" / "kubeconfig.yaml"


def default_paths(env: Mapping[str, str] | None = None) -> tuple[list[Path], bool]:
    """The files to merge and whether they came from ``$KUBECONFIG``."""
    env = os.environ if env is None else env
    value = env.get("KUBECONFIG", "")
    if value:
        seen: list[Path] = []
        for p in value.split(os.pathsep):
            if p and Path(p).expanduser() not in seen:
                seen.append(Path(p).expanduser())
        return seen, True
    home_config = default_home() / ".kube" / "config"
    if not home_config.exists():
        fallback = server_kubeconfig()
        if fallback.exists():
            return [fallback], False
    return [home_config], False


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"stat {path}: no such file or directory") from exc
    except OSError as exc:
        raise ConfigError(f"open {path}: {exc.strerror}") from exc
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        doc = yaml.load(text, Loader=loader) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"error loading config file \"{path}\": {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"error loading config file \"{path}\": not a kubeconfig")
    return doc


def load(explicit: str | None = None, env: Mapping[str, str] | None = None) -> KubeConfig:
    """Load and merge the kubeconfig files (see the module docstring).

    Raises:
        ConfigError: ``--kubeconfig`` names a missing file, or a file does not parse.
    """
    cfg = KubeConfig()
    if explicit:
        path = Path(explicit).expanduser()
        cfg.explicit = path
        paths = [path]
        must_exist = True
    else:
        paths, from_env = default_paths(env)
        if from_env:
            cfg.env_paths = paths
        must_exist = False
    for path in paths:
        if not must_exist and not path.exists():
            continue
        doc = _read_yaml(path)
        cfg.files.append(path)
        if not cfg.current_context and doc.get("current-context"):
            cfg.current_context = str(doc["current-context"])
        if not cfg.preferences and isinstance(doc.get("preferences"), dict):
            cfg.preferences = doc["preferences"]
        for section, key, target in (
            ("clusters", "cluster", cfg.clusters),
            ("contexts", "context", cfg.contexts),
            ("users", "user", cfg.users),
        ):
            for item in doc.get(section) or []:
                if isinstance(item, dict) and "name" in item:
                    name = str(item["name"])
                    if name not in target:
                        value = item.get(key) or {}
                        target[name] = Entry(name, value if isinstance(value, dict) else {}, path)
    return cfg


def _base(entry: Entry | None) -> Path:
    if entry is None or entry.source is None:
        return Path.cwd()
    return entry.source.parent


def _data_or_file(section: Mapping[str, Any], name: str, base: Path) -> bytes | None:
    data = section.get(f"{name}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"{name}-data: illegal base64 data") from exc
    ref = section.get(name)
    if ref:
        path = base / os.path.expanduser(str(ref))
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"unable to read {name} {ref} due to open {path}: "
                              f"{exc.strerror.lower() if exc.strerror else exc}") from exc
    return None


def write_file(path: Path, doc: Mapping[str, Any]) -> None:
    """Write one kubeconfig file (mode 0600 for new files), keys in kubectl's order."""
    from .printers.yamlfmt import dump_yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump_yaml(doc)
    tmp = path.with_name(path.name + ".k3trio-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_file(path: Path) -> dict[str, Any]:
    """One kubeconfig file as a document (an empty Config when it does not exist)."""
    if not path.exists():
        return {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [],
                "users": [], "current-context": "", "preferences": {}}
    return _read_yaml(path)
