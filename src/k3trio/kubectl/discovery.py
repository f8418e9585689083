"""API discovery for the command line: what the server serves, cached on disk, and kubectl's
resource-name resolution.

The aggregated documents of ``/api`` and ``/apis`` (``apidiscovery.k8s.io/v2``) give every
resource in preference order (core first, then groups as the server lists them, preferred
version first). They are cached under ``~/.kube/cache/discovery/<host_port>/`` for ten
minutes, as kubectl caches discovery, and fetched again when a name does not resolve (a CRD
may just have been created).

Resolution (``Discovery.resolve``) follows kubectl's RESTMapper: a short name expands to its
resource, then plural and singular resource names match, then kinds, case-insensitively;
``name.group`` and ``name.version.group`` narrow the group; the first match in preference
order wins.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .rest import RestClient, StatusError

__all__ = ["ApiResource", "Discovery", "UnknownResource"]

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)
CACHE_TTL = 600.0


class UnknownResource(Exception):
    """No served resource matches the name."""


@dataclass(frozen=True)
class ApiResource:
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    singular: str = ""
    subresources: tuple[str, ...] = ()
    preferred: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def kind_prefix(self) -> str:
        """``deployment.apps``: how kubectl names the type in ``-o name`` and prefixes."""
        k = self.kind.lower()
        return f"{k}.{self.group}" if self.group else k

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        from urllib.parse import quote

        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.resource}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
            if subresource:
                base += f"/{subresource}"
        return base


def parse_aggregated(doc: Mapping[str, Any]) -> list[ApiResource]:
    out: list[ApiResource] = []
    for item in doc.get("items") or []:
        group = str((item.get("metadata") or {}).get("name") or "")
        for index, ver in enumerate(item.get("versions") or []):
            version = str(ver.get("version"))
            for r in ver.get("resources") or []:
                kind = (r.get("responseKind") or {}).get("kind") or ""
                out.append(ApiResource(
                    group=group, version=version, resource=str(r.get("resource")),
                    kind=str(kind), namespaced=r.get("scope") == "Namespaced",
                    verbs=tuple(r.get("verbs") or ()),
                    short_names=tuple(r.get("shortNames") or ()),
                    categories=tuple(r.get("categories") or ()),
                    singular=str(r.get("singularResource") or ""),
                    subresources=tuple(str(s.get("subresource"))
                                       for s in r.get("subresources") or []),
                    preferred=index == 0,
                ))
    return out


def _legacy(client: RestClient, root: str, doc: Mapping[str, Any]) -> list[ApiResource]:
    out: list[ApiResource] = []
    if doc.get("kind") == "APIVersions":
        gvs = [("", v, True) for v in doc.get("versions") or []]
    else:
        gvs = []
        for g in doc.get("groups") or []:
            pref = (g.get("preferredVersion") or {}).get("version")
            versions = [v.get("version") for v in g.get("versions") or []]
            versions.sort(key=lambda v: v != pref)
            gvs.extend((g.get("name"), v, v == pref) for v in versions)
    for group, version, preferred in gvs:
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            rl = client.get(path)
        except StatusError:
            continue
        subs: dict[str, list[str]] = {}
        for r in rl.get("resources") or []:
            if "/" in r.get("name", ""):
                parent, _, sub = r["name"].partition("/")
                subs.setdefault(parent, []).append(sub)
        for r in rl.get("resources") or []:
            if "/" in r.get("name", ""):
                continue
            out.append(ApiResource(
                group=group, version=version, resource=r["name"], kind=r.get("kind", ""),
                namespaced=bool(r.get("namespaced")), verbs=tuple(r.get("verbs") or ()),
                short_names=tuple(r.get("shortNames") or ()),
                categories=tuple(r.get("categories") or ()),
                singular=r.get("singularName") or "", subresources=tuple(subs.get(r["name"], [])),
                preferred=preferred))
    return out


class Discovery:
    def __init__(self, client: RestClient, cache_dir: Path | None) -> None:
        self.client = client
        self.cache_dir = cache_dir
        self._resources: list[ApiResource] | None = None
        self._fresh = False
        self.docs: dict[str, Any] = {}

    def _cache_file(self) -> Path | None:
        if self.cache_dir is None:
            return None
        host = self.client.hostport.replace(":", "_").replace("[", "").replace("]", "")
        return self.cache_dir / "discovery" / host / "k3trio-aggregated.json"

    def resources(self, refresh: bool = False) -> list[ApiResource]:
        if self._resources is not None and not refresh:
            return self._resources
        cache = self._cache_file()
        if not refresh and cache is not None:
            try:
                if time.time() - cache.stat().st_mtime < CACHE_TTL:
                    self.docs = json.loads(cache.read_text())
                    self._resources = self._parse(self.docs)
                    return self._resources
            except (OSError, ValueError):
                pass
        self.docs = {}
        for root in ("/api", "/apis"):
            try:
                self.docs[root] = self.client.get(root, accept=AGGREGATED_ACCEPT)
            except StatusError as exc:
                if exc.code != 404:
                    raise
        self._resources = self._parse(self.docs)
        self._fresh = True
        if cache is not None and all(d.get("kind") == "APIGroupDiscoveryList"
                                     for d in self.docs.values()):
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(self.docs))
                os.replace(tmp, cache)
            except OSError:
                pass
        return self._resources

    def _parse(self, docs: Mapping[str, Any]) -> list[ApiResource]:
        out: list[ApiResource] = []
        for root in ("/api", "/apis"):
            doc = docs.get(root)
            if not doc:
                continue
            if doc.get("kind") == "APIGroupDiscoveryList":
                out.extend(parse_aggregated(doc))
            else:
                out.extend(_legacy(self.client, root, doc))
        return out

    def resolve(self, name: str) -> ApiResource:
        """The resource ``name`` means (see module docstring).

        Raises:
            UnknownResource: nothing matches, even after refreshing discovery.
        """
        for refresh in (False, True):
            if refresh and self._fresh:
                break
            found = resolve(self.resources(refresh=refresh), name)
            if found is not None:
                return found
        raise UnknownResource(f'the server doesn\'t have a resource type "{name}"')

    def for_kind(self, api_version: str, kind: str) -> ApiResource:
        for refresh in (False, True):
            if refresh and self._fresh:
                break
            for r in self.resources(refresh=refresh):
                if r.api_version == api_version and r.kind == kind:
                    return r
        group, _, version = api_version.rpartition("/")
        raise UnknownResource(
            f'resource mapping not found for name: "{{name}}" namespace: "{{namespace}}" from '
            f'"{{source}}": no matches for kind "{kind}" in version "{api_version}"\n'
            f"ensure CRDs are installed first")

    def category(self, name: str) -> list[ApiResource]:
        return [r for r in self.resources() if r.preferred and name in r.categories]

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, versions in preference order), core first, as ``api-versions`` wants."""
        self.resources()
        out: list[tuple[str, list[str]]] = []
        for root in ("/api", "/apis"):
            doc = self.docs.get(root) or {}
            if doc.get("kind") == "APIGroupDiscoveryList":
                for item in doc.get("items") or []:
                    g = str((item.get("metadata") or {}).get("name") or "")
                    out.append((g, [str(v.get("version")) for v in item.get("versions") or []]))
            elif doc.get("kind") == "APIVersions":
                out.append(("", list(doc.get("versions") or [])))
            else:
                for g in doc.get("groups") or []:
                    out.append((g["name"], [v["version"] for v in g.get("versions") or []]))
        return out


def resolve(resources: Iterable[ApiResource], query: str) -> ApiResource | None:
    resources = list(resources)
    lower = query.lower()
    name, _, rest = lower.partition(".")
    candidates: list[tuple[str | None, str | None]] = [(None, None)]
    if rest:
        version, _, group = rest.partition(".")
        candidates = [(None, rest), (version, group), (None, None)]
    for want_version, want_group in candidates:
        pool = [r for r in resources
                if (want_group is None or r.group == want_group)
                and (want_version is None or r.version == want_version)]
        if want_version is None:
            preferred = [r for r in pool if r.preferred]
            pool = preferred + [r for r in pool if not r.preferred]
        target = name if want_group is not None else lower
        for r in pool:
            if target in (s.lower() for s in r.short_names):
                return r
        for r in pool:
            if r.resource == target or r.singular == target:
                return r
        for r in pool:
            if r.kind.lower() == target:
                return r
    return None
