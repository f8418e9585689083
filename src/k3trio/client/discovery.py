"""API discovery: which resources the server serves, cached, and names resolved to them.

Discovery asks ``/api`` and ``/apis`` for the aggregated documents
(``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList``). A server that answers with the
legacy ``APIVersions``/``APIGroupList`` instead is walked group-version by group-version
(``APIResourceList``). The result is a ``Resource`` per (group, version, resource), kept in
preference order: the core group first, then groups as the server lists them, and inside a
group the preferred version first.

Resolution (``Discovery.find``) accepts what kubectl accepts: the plural, singular, kind or a
short name, case-insensitively, optionally qualified as ``name.group`` or
``name.version.group``; the first match in preference order wins. ``for_kind`` maps
``(apiVersion, kind)`` to a resource.

Invariants: the cache is replaced as a whole (never half-updated); it is refreshed when older
than ``ttl`` seconds or after a failed lookup (a CRD may just have been created), at most
once per lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import trio

from .errors import ClientError, NotFound
from .resource import Resource

if TYPE_CHECKING:
    from .api import Client

__all__ = [
    "AGGREGATED_ACCEPT",
    "Discovery",
    "ResourceNotFound",
    "parse_aggregated",
    "parse_resource_list",
    "resolve",
]

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)


class ResourceNotFound(ClientError):
    """No served resource matches the name (``the server doesn't have a resource type``)."""


def _resource(
    group: str, version: str, r: Mapping[str, Any], subresources: Sequence[str]
) -> Resource:
    kind = r.get("responseKind", {}).get("kind") if "responseKind" in r else r.get("kind")
    return Resource(
        group=group,
        version=version,
        resource=str(r.get("resource") or r.get("name")),
        kind=str(kind or ""),
        namespaced=(r.get("scope") == "Namespaced") if "scope" in r else bool(r.get("namespaced")),
        verbs=tuple(r.get("verbs") or ()),
        short_names=tuple(r.get("shortNames") or ()),
        categories=tuple(r.get("categories") or ()),
        subresources=tuple(subresources),
        singular=str(r.get("singularResource") or r.get("singularName") or ""),
    )


def parse_aggregated(doc: Mapping[str, Any]) -> list[Resource]:
    """Resources of an ``APIGroupDiscoveryList`` in document order."""
    out: list[Resource] = []
    for item in doc.get("items") or []:
        group = str((item.get("metadata") or {}).get("name") or "")
        for ver in item.get("versions") or []:
            version = str(ver.get("version"))
            for r in ver.get("resources") or []:
                subs = [str(s.get("subresource")) for s in r.get("subresources") or []]
                out.append(_resource(group, version, r, subs))
    return out


def parse_resource_list(doc: Mapping[str, Any]) -> list[Resource]:
    """Resources of one legacy ``APIResourceList`` (``pods/status`` folded into ``pods``)."""
    gv = str(doc.get("groupVersion") or "")
    group, _, version = gv.rpartition("/")
    entries = [r for r in doc.get("resources") or [] if isinstance(r, dict)]
    subs: dict[str, list[str]] = {}
    for r in entries:
        name = str(r.get("name") or "")
        if "/" in name:
            parent, _, sub = name.partition("/")
            subs.setdefault(parent, []).append(sub)
    return [
        _resource(group, version, r, subs.get(str(r.get("name")), []))
        for r in entries
        if "/" not in str(r.get("name") or "")
    ]


def _matches(res: Resource, name: str) -> bool:
    name = name.lower()
    return (
        res.resource == name
        or res.singular == name
        or res.kind.lower() == name
        or name in (s.lower() for s in res.short_names)
    )


def resolve(resources: Iterable[Resource], query: str) -> Resource | None:
    """The first resource (preference order) that ``query`` names, or None.

    ``query`` is ``name``, ``name.group`` or ``name.version.group`` (kubectl's forms).
    """
    resources = list(resources)
    name, _, rest = query.partition(".")
    candidates: list[tuple[str | None, str | None]] = [(None, None)] if not rest else []
    if rest:
        candidates.append((None, rest))  # name.group
        version, _, group = rest.partition(".")
        candidates.append((version, group))  # name.version.group
    for want_version, want_group in candidates:
        for res in resources:
            if want_group is not None and res.group != want_group:
                continue
            if want_version is not None and res.version != want_version:
                continue
            if _matches(res, name):
                return res
    return None


class Discovery:
    """Cached discovery for one client (``client.discovery``)."""

    def __init__(self, client: Client, *, ttl: float = 600.0) -> None:
        self._client = client
        self._ttl = ttl
        self._resources: list[Resource] | None = None
        self._fetched_at = -float("inf")
        self._lock = trio.Lock()

    def invalidate(self) -> None:
        self._resources = None

    async def resources(self, *, refresh: bool = False) -> list[Resource]:
        """Every served resource in preference order (cached for ``ttl`` seconds)."""
        async with self._lock:
            stale = trio.current_time() - self._fetched_at > self._ttl
            if refresh or stale or self._resources is None:
                self._resources = await self._fetch()
                self._fetched_at = trio.current_time()
            return self._resources

    async def find(self, name: str, *, api_version: str | None = None) -> Resource:
        """Resolve a resource name, kind or short name (see module docstring).

        Raises:
            ResourceNotFound: nothing matches, even after a refresh.
        """
        for refresh in (False, True):
            resources = await self.resources(refresh=refresh)
            if api_version:
                resources = [r for r in resources if r.api_version == api_version]
            found = resolve(resources, name)
            if found is not None:
                return found
        raise ResourceNotFound(f'the server doesn\'t have a resource type "{name}"')

    async def for_kind(self, api_version: str, kind: str) -> Resource:
        """The resource serving ``kind`` in ``api_version``.

        Raises:
            ResourceNotFound: no such kind in that group version.
        """
        for refresh in (False, True):
            for res in await self.resources(refresh=refresh):
                if res.api_version == api_version and res.kind == kind:
                    return res
        raise ResourceNotFound(f'no matches for kind "{kind}" in version "{api_version}"')

    async def _fetch(self) -> list[Resource]:
        out: list[Resource] = []
        for root in ("/api", "/apis"):
            try:
                doc = await self._client.request_json("GET", root, accept=AGGREGATED_ACCEPT)
            except NotFound:
                continue
            if doc.get("kind") == "APIGroupDiscoveryList":
                out.extend(parse_aggregated(doc))
            else:
                out.extend(await self._fetch_legacy(root, doc))
        return out

    async def _fetch_legacy(self, root: str, doc: Mapping[str, Any]) -> list[Resource]:
        paths: list[str] = []
        if doc.get("kind") == "APIVersions":
            paths = [f"/api/{v}" for v in doc.get("versions") or []]
        else:
            for group in doc.get("groups") or []:
                preferred = (group.get("preferredVersion") or {}).get("groupVersion")
                gvs = [str(v.get("groupVersion")) for v in group.get("versions") or []]
                if preferred in gvs:
                    gvs.remove(preferred)
                    gvs.insert(0, preferred)
                paths.extend(f"/apis/{gv}" for gv in gvs)
        out: list[Resource] = []
        for path in paths:
            try:
                out.extend(parse_resource_list(await self._client.request_json("GET", path)))
            except NotFound:
                continue
        return out
