"""API discovery: ``/api``, ``/apis``, ``/apis/<group>``, ``/api/v1``, ``/apis/<g>/<v>``,
aggregated discovery, and (through :mod:`.openapi_serve`) the OpenAPI documents.

Everything here is pure: a path, the request headers and a :class:`Registry` snapshot go in,
a :class:`Response` comes out. The core router calls :func:`handle` (or the simpler
:func:`render`) before resource routing; ``None`` means "not a discovery path".

Shapes follow kube-apiserver v1.36:
- ``/api`` is ``APIVersions`` (no ``apiVersion`` field) with ``serverAddressByClientCIDRs``.
- ``/apis`` is ``APIGroupList``; ``/apis/<g>`` is ``APIGroup``; neither carries server
  addresses.
- ``/api/v1`` is an ``APIResourceList`` without ``apiVersion``; group versions have
  ``apiVersion: v1``. Entries (subresources included, as ``pods/status``) are sorted by name;
  subresources have an empty ``singularName`` and name their ``group``/``version`` only when
  their kind lives elsewhere (``pods/eviction`` -> policy/v1). Stored resources carry
  ``storageVersionHash`` = base64(sha256("group/version/kind")[:8]) of the storage version.
- Aggregated discovery (``Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=
  APIGroupDiscoveryList``, also ``v2beta1``) is served on ``/api`` and ``/apis`` with the
  content type echoing the chosen media type, an ``ETag`` and ``304`` on ``If-None-Match``.

Invariants:
- Bodies are compact JSON with a trailing newline, as Go's encoder writes them.
- Rendered bodies are cached per registry snapshot (identity and ``generation``); a new
  snapshot (a CRD change) never sees stale documents.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import yaml

from ..api.errors import APIError, NotAcceptable
from ..api.registry import Registry, ResourceInfo
from .discovery_accept import MediaRange, parse_accept

__all__ = [
    "AGGREGATED_KIND",
    "Response",
    "aggregated_discovery",
    "api_group",
    "api_group_list",
    "api_resource_list",
    "api_versions",
    "handle",
    "render",
    "storage_version_hash",
]

AGGREGATED_GROUP = "apidiscovery.k8s.io"
AGGREGATED_KIND = "APIGroupDiscoveryList"
AGGREGATED_VERSIONS = ("v2", "v2beta1")
JSON = "application/json"
YAML = "application/yaml"


@dataclass(frozen=True)
class Response:
    """A rendered discovery/OpenAPI response."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


# -- documents -----------------------------------------------------------------------------


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """``discovery.StorageVersionHash``: base64 of the first 8 bytes of sha256("g/v/k")."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _gv_entry(group: str, version: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/{version}" if group else version, "version": version}


def api_versions(registry: Registry, server_address: str | None = None) -> dict[str, Any]:
    """The ``/api`` ``APIVersions`` object."""
    versions = next((list(vs) for g, vs in registry.groups() if g == ""), [])
    doc: dict[str, Any] = {"kind": "APIVersions", "versions": versions}
    if server_address:
        doc["serverAddressByClientCIDRs"] = [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    return doc


def _group_doc(group: str, versions: tuple[str, ...]) -> dict[str, Any]:
    return {
        "name": group,
        "versions": [_gv_entry(group, v) for v in versions],
        "preferredVersion": _gv_entry(group, versions[0]),
    }


def api_group_list(registry: Registry) -> dict[str, Any]:
    """The ``/apis`` ``APIGroupList`` (named groups in discovery order)."""
    groups = [_group_doc(g, vs) for g, vs in registry.groups() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    """The ``/apis/<group>`` ``APIGroup``, or None when the group is not served."""
    for g, vs in registry.groups():
        if g == group and g:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(g, vs)}
    return None


def _storage_gvk(info: ResourceInfo) -> tuple[str, str, str]:
    if info.storage_version:
        group, _, version = info.storage_version.rpartition("/")
        return group, version, info.kind
    return info.group, info.version, info.kind


def _resource_entry(info: ResourceInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": info.resource,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    if info.stored:
        entry["storageVersionHash"] = storage_version_hash(*_storage_gvk(info))
    return entry


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """The ``APIResourceList`` of one group-version, or None when it is not served."""
    infos = registry.resources_in(group, version)
    if not infos:
        return None
    entries: list[tuple[str, dict[str, Any]]] = []
    for info in infos:
        entries.append((info.resource, _resource_entry(info)))
        for sub in info.subresources:
            entry: dict[str, Any] = {
                "name": f"{info.resource}/{sub.name}",
                "singularName": "",
                "namespaced": info.namespaced,
            }
            if (sub.group, sub.version) != (group, version):
                entry["group"] = sub.group
                entry["version"] = sub.version
            entry["kind"] = sub.kind
            entry["verbs"] = list(sub.verbs)
            entries.append((entry["name"], entry))
    entries.sort(key=lambda e: e[0])
    doc: dict[str, Any] = {"kind": "APIResourceList"}
    if group:
        doc["apiVersion"] = "v1"
    doc["groupVersion"] = f"{group}/{version}" if group else version
    doc["resources"] = [e for _, e in entries]
    return doc


def _response_kind(info_group: str, info_version: str, kind: str, *, custom: bool,
                   group: str, version: str) -> dict[str, str]:
    # Built-in handlers leave group/version empty when the kind is the group-version's own;
    # the CRD discovery controller always fills them in.
    if not custom and (info_group, info_version) == (group, version):
        return {"group": "", "version": "", "kind": kind}
    return {"group": info_group, "version": info_version, "kind": kind}


def _aggregated_resource(info: ResourceInfo) -> dict[str, Any]:
    g, v = info.group, info.version
    entry: dict[str, Any] = {
        "resource": info.resource,
        "responseKind": _response_kind(g, v, info.kind, custom=info.custom, group=g, version=v),
        "scope": "Namespaced" if info.namespaced else "Cluster",
        "singularResource": info.singular,
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    entry["verbs"] = list(info.verbs)
    if info.subresources:
        entry["subresources"] = [
            {
                "subresource": sub.name,
                "responseKind": _response_kind(sub.group, sub.version, sub.kind, custom=info.custom, group=g, version=v),
                "verbs": list(sub.verbs),
            }
            for sub in info.subresources
        ]
    return entry


def aggregated_discovery(registry: Registry, *, legacy: bool, version: str = "v2") -> dict[str, Any]:
    """The ``APIGroupDiscoveryList`` for ``/api`` (``legacy``) or ``/apis``."""
    items = []
    for group, versions in registry.groups():
        if (group == "") != legacy:
            continue
        metadata: dict[str, Any] = {"name": group} if group else {}
        metadata["creationTimestamp"] = None
        items.append(
            {
                "metadata": metadata,
                "versions": [
                    {
                        "version": v,
                        "resources": [_aggregated_resource(i) for i in registry.resources_in(group, v)],
                        "freshness": "Current",
                    }
                    for v in versions
                ],
            }
        )
    return {
        "kind": AGGREGATED_KIND,
        "apiVersion": f"{AGGREGATED_GROUP}/{version}",
        "metadata": {},
        "items": items,
    }


# -- encoding and caching ------------------------------------------------------------------


def encode_json(doc: Any) -> bytes:
    """Compact JSON with a trailing newline (Go's ``json.Encoder``)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _encode(doc: Any, media: str) -> bytes:
    if media == YAML:
        return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).encode()
    return encode_json(doc)


class _Cache:
    """Rendered bodies per registry snapshot; keeps the few most recent snapshots."""

    def __init__(self, snapshots: int = 4) -> None:
        self._lock = threading.Lock()
        self._snapshots = snapshots
        self._data: OrderedDict[tuple[int, int], tuple[Registry, dict[Any, Any]]] = OrderedDict()

    def get(self, registry: Registry, key: Any, build: Callable[[], Any]) -> Any:
        ident = (id(registry), registry.generation)
        with self._lock:
            slot = self._data.get(ident)
            if slot is None or slot[0] is not registry:
                slot = (registry, {})
                self._data[ident] = slot
                while len(self._data) > self._snapshots:
                    self._data.popitem(last=False)
            else:
                self._data.move_to_end(ident)
            table = slot[1]
            if key in table:
                return table[key]
        value = build()
        with self._lock:
            table.setdefault(key, value)
        return value


CACHE = _Cache()


# -- negotiation -----------------------------------------------------------------------------


def _negotiate(accept: str, *, aggregated: bool) -> tuple[str, str | None] | None:
    """Pick ``(media type, aggregated version or None)`` or None when nothing is acceptable."""
    for clause in parse_accept(accept):
        is_json = clause.matches("application", "json")
        if is_json and aggregated and _is_aggregated(clause):
            return JSON, clause.params["v"]
        if _plain(clause):
            if is_json:
                return JSON, None
            if clause.matches("application", "yaml"):
                return YAML, None
    return None


def _is_aggregated(clause: MediaRange) -> bool:
    p = clause.params
    return (
        p.get("g") == AGGREGATED_GROUP
        and p.get("as") == AGGREGATED_KIND
        and p.get("v") in AGGREGATED_VERSIONS
    )


def _plain(clause: MediaRange) -> bool:
    return not ({"g", "v", "as"} & clause.params.keys())


def _not_acceptable() -> Response:
    err = NotAcceptable(f"only the following media types are accepted: {JSON}, {YAML}")
    return Response(406, encode_json(err.to_status()), JSON)


def not_found() -> Response:
    """The generic 404 the API server answers for an unknown path."""
    err = APIError("the server could not find the requested resource", code=404, reason="NotFound")
    status = err.to_status()
    status["details"] = {}
    return Response(404, encode_json(status), JSON)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha512(body).hexdigest().upper() + '"'


# -- entry points -------------------------------------------------------------------------


def _discovery_doc(kind: str, registry: Registry, arg: Any, server_address: str | None) -> Any:
    if kind == "api":
        return api_versions(registry, server_address)
    if kind == "apis":
        return api_group_list(registry)
    if kind == "group":
        return api_group(registry, arg)
    if kind == "gv":
        return api_resource_list(registry, *arg)
    legacy, version = arg
    return aggregated_discovery(registry, legacy=legacy, version=version)


def _classify(parts: list[str]) -> tuple[str, Any] | None:
    if parts == ["api"]:
        return "api", None
    if parts == ["apis"]:
        return "apis", None
    if len(parts) == 2 and parts[0] == "api":
        return "gv", ("", parts[1])
    if len(parts) == 2 and parts[0] == "apis":
        return "group", parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return "gv", (parts[1], parts[2])
    return None


def handle(
    path: str,
    registry: Registry,
    *,
    accept: str = "",
    query: str = "",
    if_none_match: str = "",
    server_address: str | None = None,
) -> Response | None:
    """Serve a discovery or OpenAPI request.

    Args:
        path: the request path; a ``?query`` suffix is split off and merged into ``query``.
        registry: the served snapshot.
        accept: the ``Accept`` header.
        query: the raw query string (``hash=...`` for OpenAPI v3 documents).
        if_none_match: the ``If-None-Match`` header (answers 304 on a matching ETag).
        server_address: ``host:port`` advertised in ``/api``'s ``serverAddressByClientCIDRs``.

    Returns:
        The response, or None when ``path`` is neither a discovery nor an OpenAPI path.
    """
    path, _, inline_query = path.partition("?")
    if inline_query:
        query = f"{query}&{inline_query}" if query else inline_query
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "openapi":
        from .openapi_serve import handle_openapi

        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        return handle_openapi(parts[1:], registry, accept=accept, params=params, if_none_match=if_none_match)
    which = _classify(parts)
    if which is None:
        return None
    kind, arg = which
    aggregated_ok = kind in ("api", "apis")
    chosen = _negotiate(accept, aggregated=aggregated_ok)
    if chosen is None:
        return _not_acceptable()
    media, agg_version = chosen
    headers: list[tuple[str, str]] = [("Vary", "Accept")]
    if agg_version is not None:
        key: Any = ("agg", kind == "api", agg_version)
        body = CACHE.get(
            registry, key, lambda: encode_json(_discovery_doc("agg", registry, (kind == "api", agg_version), None))
        )
        etag = CACHE.get(registry, ("etag",) + key, lambda: etag_of(body))
        content_type = f"{JSON};g={AGGREGATED_GROUP};v={agg_version};as={AGGREGATED_KIND}"
        headers.append(("ETag", etag))
        if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(304, b"", content_type, tuple(headers))
        return Response(200, body, content_type, tuple(headers))
    cache_key = (kind, arg, media, server_address if kind == "api" else None)

    def build() -> bytes | None:
        doc = _discovery_doc(kind, registry, arg, server_address)
        return None if doc is None else _encode(doc, media)

    body = CACHE.get(registry, cache_key, build)
    if body is None:
        return not_found()
    return Response(200, body, media, tuple(headers))


def render(
    path: str, accept: str, registry: Registry, server_address: str | None = None
) -> tuple[int, bytes, str] | None:
    """``(status, body, content type)`` for a discovery/OpenAPI path, None for any other path.

    Use :func:`handle` to also get the caching headers (``ETag``, ``Cache-Control``).
    """
    resp = handle(path, registry, accept=accept, server_address=server_address)
    if resp is None:
        return None
    return resp.status, resp.body, resp.content_type
