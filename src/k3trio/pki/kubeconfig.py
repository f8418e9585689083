"""Kubeconfig files with embedded credentials, shaped like K3s's ``k3s.yaml``.

``render_kubeconfig`` is pure (material in, YAML text out); ``write_kubeconfig`` writes it
atomically with an exact mode; ``read_kubeconfig`` resolves the current context of any
kubeconfig (embedded ``*-data`` or file references, relative paths resolved against the
file's directory) back into ``KubeconfigMaterial`` so in-process clients and tests can build
TLS contexts from it.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import attrs
import yaml

from .errors import PKIError
from .files import PRIVATE_FILE_MODE, atomic_write


class KubeconfigError(PKIError):
    """A kubeconfig file is malformed or lacks what was asked of it."""


@attrs.frozen(slots=True)
class KubeconfigMaterial:
    """The current context of a kubeconfig: where to connect and with what credentials."""

    server_url: str
    ca_pem: bytes | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    token: str | None = None
    namespace: str | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def render_kubeconfig(
    *,
    server_url: str,
    ca_pem: bytes,
    client_cert_pem: bytes,
    client_key_pem: bytes,
    cluster_name: str = "default",
    user: str = "default",
    context: str = "default",
    namespace: str | None = None,
) -> str:
    """The YAML text of a single-cluster, single-user kubeconfig with embedded data."""
    ctx: dict[str, Any] = {"cluster": cluster_name, "user": user}
    if namespace:
        ctx["namespace"] = namespace
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "clusters": [
            {
                "cluster": {
                    "certificate-authority-data": _b64(ca_pem),
                    "server": server_url,
                },
                "name": cluster_name,
            }
        ],
        "contexts": [{"context": ctx, "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(client_cert_pem),
                    "client-key-data": _b64(client_key_pem),
                },
            }
        ],
    }
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=False, width=1 << 20)


def write_kubeconfig(
    path: Path | str,
    *,
    server_url: str,
    ca_pem: bytes,
    client_cert_pem: bytes,
    client_key_pem: bytes,
    mode: int = PRIVATE_FILE_MODE,
    cluster_name: str = "default",
    user: str = "default",
    context: str = "default",
    namespace: str | None = None,
) -> None:
    """Atomically write a kubeconfig (see ``render_kubeconfig``) with permission bits ``mode``.

    Missing parent directories are created. The mode is applied even when the file exists
    with another mode (``--write-kubeconfig-mode``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_kubeconfig(
        server_url=server_url,
        ca_pem=ca_pem,
        client_cert_pem=client_cert_pem,
        client_key_pem=client_key_pem,
        cluster_name=cluster_name,
        user=user,
        context=context,
        namespace=namespace,
    )
    atomic_write(path, text.encode("utf-8"), mode)


def read_kubeconfig(path: Path | str, *, context: str | None = None) -> KubeconfigMaterial:
    """Resolve a kubeconfig's context (the current one by default) into its material.

    Raises:
        KubeconfigError: malformed YAML, missing context/cluster/user, bad base64.
        OSError: the file (or a file it references) cannot be read.
    """
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise KubeconfigError(f"{path}: not a kubeconfig")
    name = context or doc.get("current-context")
    if not name:
        raise KubeconfigError(f"{path}: no current-context")
    ctx = _named(doc, "contexts", name, "context", path)
    cluster = _named(doc, "clusters", ctx.get("cluster"), "cluster", path)
    user = _named(doc, "users", ctx.get("user"), "user", path) if ctx.get("user") else {}
    server = cluster.get("server")
    if not server:
        raise KubeconfigError(f"{path}: cluster {ctx.get('cluster')!r} has no server")
    base = path.parent
    return KubeconfigMaterial(
        server_url=str(server),
        ca_pem=_data_or_file(cluster, "certificate-authority", base),
        client_cert_pem=_data_or_file(user, "client-certificate", base),
        client_key_pem=_data_or_file(user, "client-key", base),
        token=user.get("token"),
        namespace=ctx.get("namespace"),
    )


def _named(doc: dict[str, Any], section: str, name: object, key: str, path: Path) -> dict[str, Any]:
    for entry in doc.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(key)
            if isinstance(value, dict):
                return value
            break
    raise KubeconfigError(f"{path}: {section} has no entry named {name!r}")


def _data_or_file(section: dict[str, Any], field: str, base: Path) -> bytes | None:
    data = section.get(f"{field}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KubeconfigError(f"{field}-data is not valid base64") from exc
    ref = section.get(field)
    if ref:
        return (base / Path(ref)).read_bytes()
    return None
