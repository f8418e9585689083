"""The registry of kinds: what the API server serves, and how names resolve to resources.

A :class:`Registry` is an immutable snapshot. :data:`BUILTIN` holds the built-in table of
:mod:`k3trio.api.builtin_resources`; custom resources are added by deriving a new snapshot
(``registry.with_crd(crd)`` / ``with_resources`` / ``without``), each carrying a
``generation`` one higher than its parent. The API server keeps the current snapshot in one
variable and swaps it when CRDs change; readers never see a half-updated table and can
cache on ``generation``.

Invariants:
- ``(group, version, resource)`` is unique; so is ``(group, version, kind)``.
- Group-versions are listed in upstream discovery order: built-in groups in their fixed
  order, then custom groups sorted by name (CRD groups have the aggregator's default
  priority and tie-break on name). Within a group the preferred version comes first.
- ``resolve()`` follows kubectl's RESTMapper: a bare name matches plural, singular, short
  name or kind (case-insensitive), ``name.group`` and ``name.version.group`` narrow it;
  matches come back in discovery order with preferred versions first, so ``resolve(x)[0]``
  is what kubectl would pick.
- Storage keys are ``/registry/<prefix>/<namespace>/<name>`` for namespaced resources and
  ``/registry/<prefix>/<name>`` for cluster-scoped ones, with upstream's prefixes; custom
  resources use ``<group>/<plural>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from k3trio.api import builtin_resources as _table

__all__ = [
    "BUILTIN",
    "GroupVersion",
    "Registry",
    "ResourceInfo",
    "Subresource",
    "UnknownResource",
]

REGISTRY_ROOT = "/registry"


class UnknownResource(LookupError):
    """No resource matches; ``str()`` is the text kubectl prints for it."""


@dataclass(frozen=True)
class Subresource:
    """One subresource (``pods/status``) with the kind its requests carry."""

    name: str
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...]


@dataclass(frozen=True)
class ResourceInfo:
    """One served group-version-resource."""

    group: str
    version: str
    resource: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    storage_prefix: str = ""  # "" for virtual resources that are never stored
    storage_version: str = ""  # apiVersion objects are stored at
    list_kind: str = ""
    custom: bool = False  # served from a CustomResourceDefinition
    # The CustomResourceDefinition object a custom resource is served from (schemas, printer
    # columns); None for built-ins. Not part of equality or hashing.
    crd: Mapping[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> GroupVersion:
        return GroupVersion(self.group, self.version)

    @property
    def group_resource(self) -> str:
        """``resource.group`` (``deployments.apps``; ``pods`` for the core group)."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def stored(self) -> bool:
        return bool(self.storage_prefix)

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def storage_key(self, namespace: str, name: str) -> str:
        """The store key of one object (``/registry/deployments/ns/name``)."""
        if not self.storage_prefix:
            raise ValueError(f"{self.group_resource} is not stored")
        if self.namespaced:
            return f"{REGISTRY_ROOT}/{self.storage_prefix}/{namespace}/{name}"
        return f"{REGISTRY_ROOT}/{self.storage_prefix}/{name}"

    def storage_list_prefix(self, namespace: str = "") -> str:
        """The key prefix (with trailing ``/``) of a list, across namespaces when ``""``."""
        if not self.storage_prefix:
            raise ValueError(f"{self.group_resource} is not stored")
        base = f"{REGISTRY_ROOT}/{self.storage_prefix}/"
        if self.namespaced and namespace:
            return f"{base}{namespace}/"
        return base


@dataclass(frozen=True, order=True)
class GroupVersion:
    group: str
    version: str

    def __str__(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @classmethod
    def parse(cls, api_version: str) -> GroupVersion:
        """``schema.ParseGroupVersion``: ``v1`` -> core, ``apps/v1`` -> apps."""
        if api_version.count("/") > 1:
            raise ValueError(f"unexpected GroupVersion string: {api_version}")
        group, _, version = api_version.rpartition("/")
        return cls(group, version)


def _subresources(kind: str, group: str, version: str, names: Iterable[str]) -> tuple[Subresource, ...]:
    out = []
    for name in sorted(names):
        sgroup, sversion, skind, verbs = _table.SUBRESOURCE_TEMPLATES[name]
        if not skind:
            sgroup, sversion, skind = group, version, kind
        out.append(Subresource(name, sgroup, sversion, skind.format(kind=kind), verbs))
    return tuple(out)


def _builtin_infos() -> list[ResourceInfo]:
    preferred = {g: vs[0] for g, vs in _table.GROUP_ORDER}
    infos = []
    for row in _table.ROWS:
        prefix = row.resource if row.storage_prefix is None else row.storage_prefix
        storage_version = row.storage_version or (
            f"{row.group}/{preferred[row.group]}" if row.group else preferred[row.group]
        )
        for version in row.versions:
            infos.append(
                ResourceInfo(
                    group=row.group,
                    version=version,
                    resource=row.resource,
                    singular=row.kind.lower(),
                    kind=row.kind,
                    namespaced=row.namespaced,
                    verbs=row.verbs,
                    short_names=row.short_names,
                    categories=row.categories,
                    subresources=_subresources(row.kind, row.group, version, row.subresources),
                    storage_prefix=prefix,
                    storage_version=storage_version,
                    list_kind=row.kind + "List",
                )
            )
    return infos


@dataclass(frozen=True)
class Registry:
    """An immutable set of served resources with the indexes lookups need."""

    resources: tuple[ResourceInfo, ...]
    group_order: tuple[tuple[str, tuple[str, ...]], ...]
    generation: int = 0
    _by_gvr: Mapping[tuple[str, str, str], ResourceInfo] = field(default_factory=dict, repr=False)
    _by_gvk: Mapping[tuple[str, str, str], ResourceInfo] = field(default_factory=dict, repr=False)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        resources: Iterable[ResourceInfo],
        group_order: Sequence[tuple[str, Sequence[str]]] = (),
        generation: int = 0,
    ) -> Registry:
        """Index ``resources``; groups missing from ``group_order`` are appended by name.

        Raises:
            ValueError: on a duplicate group-version-resource or group-version-kind.
        """
        items = tuple(resources)
        by_gvr: dict[tuple[str, str, str], ResourceInfo] = {}
        by_gvk: dict[tuple[str, str, str], ResourceInfo] = {}
        for info in items:
            gvr = (info.group, info.version, info.resource)
            gvk = (info.group, info.version, info.kind)
            if gvr in by_gvr:
                raise ValueError(f"duplicate resource {info.group_resource} {info.version}")
            if gvk in by_gvk:
                raise ValueError(f"duplicate kind {info.kind} in {info.api_version}")
            by_gvr[gvr] = info
            by_gvk[gvk] = info
        served: dict[str, set[str]] = {}
        for info in items:
            served.setdefault(info.group, set()).add(info.version)
        order: list[tuple[str, tuple[str, ...]]] = []
        for group, versions in group_order:
            if group in served:
                known = [v for v in versions if v in served[group]]
                extra = sorted(served[group] - set(known), key=version_priority_key)
                order.append((group, tuple(known + extra)))
        listed = {g for g, _ in order}
        for group in sorted(served.keys() - listed):
            order.append((group, tuple(sorted(served[group], key=version_priority_key))))
        return cls(items, tuple(order), generation, by_gvr, by_gvk)

    def with_resources(
        self, infos: Iterable[ResourceInfo], versions_order: Mapping[str, Sequence[str]] | None = None
    ) -> Registry:
        """A new snapshot with ``infos`` added (replacing any with the same group-resource).

        ``versions_order`` may give a group's version order (preferred first) for new groups.
        """
        new = list(infos)
        replaced = {(i.group, i.resource) for i in new}
        kept = [i for i in self.resources if (i.group, i.resource) not in replaced]
        versions_order = versions_order or {}
        order = [(g, tuple(versions_order.get(g, vs))) for g, vs in self.group_order]
        order += [(g, tuple(vs)) for g, vs in versions_order.items() if g not in dict(order)]
        return Registry.build(kept + new, order, self.generation + 1)

    def without(self, group: str, resource: str) -> Registry:
        """A new snapshot without every version of ``resource.group``."""
        kept = [i for i in self.resources if (i.group, i.resource) != (group, resource)]
        order = [(g, vs) for g, vs in self.group_order if g != group or any(i.group == g for i in kept)]
        return Registry.build(kept, order, self.generation + 1)

    def with_crd(self, crd: Mapping[str, Any]) -> Registry:
        """A new snapshot serving the versions of a ``CustomResourceDefinition`` object."""
        infos, versions = resources_from_crd(crd)
        spec = crd.get("spec") or {}
        group = spec.get("group", "")
        if not infos:  # no served version: nothing of it is served
            return self.without(group, (spec.get("names") or {}).get("plural", ""))
        return self.with_resources(infos, {group: versions})

    # -- lookups -----------------------------------------------------------------------------
    def get(self, group: str, version: str, resource: str) -> ResourceInfo | None:
        """The resource served at ``group/version/resource``, if any."""
        return self._by_gvr.get((group, version, resource))

    def for_kind(self, group: str, version: str, kind: str) -> ResourceInfo | None:
        """The resource whose objects have this group-version-kind, if any."""
        return self._by_gvk.get((group, version, kind))

    def for_api_version_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        """The resource for an object's ``apiVersion``/``kind`` pair."""
        try:
            gv = GroupVersion.parse(api_version)
        except ValueError:
            return None
        return self.for_kind(gv.group, gv.version, kind)

    def kinds_named(self, kind: str) -> list[ResourceInfo]:
        """Every served resource with this kind, in discovery order."""
        return [i for i in self.iter_discovery_order() if i.kind == kind]

    def group_versions(self) -> list[GroupVersion]:
        """All served group-versions in upstream discovery order."""
        return [GroupVersion(g, v) for g, versions in self.group_order for v in versions]

    def groups(self) -> list[tuple[str, tuple[str, ...]]]:
        """``(group, versions preferred-first)`` pairs in discovery order (core first)."""
        return list(self.group_order)

    def preferred_version(self, group: str) -> str | None:
        for g, versions in self.group_order:
            if g == group:
                return versions[0]
        return None

    def resources_in(self, group: str, version: str) -> list[ResourceInfo]:
        """The resources of one group-version, sorted by name as discovery lists them."""
        return sorted(
            (i for i in self.resources if i.group == group and i.version == version),
            key=lambda i: i.resource,
        )

    def iter_discovery_order(self) -> Iterator[ResourceInfo]:
        for group, versions in self.group_order:
            for version in versions:
                yield from self.resources_in(group, version)

    def preferred(self) -> list[ResourceInfo]:
        """One entry per group-resource: its preferred version (``kubectl api-resources``)."""
        seen: set[tuple[str, str]] = set()
        out = []
        for info in self.iter_discovery_order():
            if (info.group, info.resource) not in seen:
                seen.add((info.group, info.resource))
                out.append(info)
        return out

    def in_category(self, category: str) -> list[ResourceInfo]:
        """Preferred-version resources in a category (``kubectl get all``)."""
        return [i for i in self.preferred() if category in i.categories]

    def resolve(self, text: str) -> list[ResourceInfo]:
        """Resolve what a user typed (``deploy``, ``pods``, ``deployments.apps``,
        ``hpa.v1.autoscaling``, ``Deployment``) to served resources, best match first.

        Raises:
            UnknownResource: nothing matches, with kubectl's wording.
        """
        for name, version, group in _split_resource_arg(text):
            matches = self._match(name.lower(), version, group)
            if matches:
                return matches
        raise UnknownResource(f'the server doesn\'t have a resource type "{text}"')

    def _match(self, name: str, version: str | None, group: str | None) -> list[ResourceInfo]:
        matches: list[ResourceInfo] = []
        for g, versions in self.group_order:
            # A partial group ("networking") matches at a dot boundary; exact wins below.
            if group is not None and g != group and not g.startswith(group + "."):
                continue
            for v in versions:
                if version is not None and v != version:
                    continue
                for info in self.resources_in(g, v):
                    if name in (info.resource, info.singular, info.kind.lower()) or name in info.short_names:
                        matches.append(info)
        if group is not None:
            matches = [m for m in matches if m.group == group] or matches
        # Preferred versions first, discovery order otherwise (the sort is stable).
        pref = {g: vs[0] for g, vs in self.group_order}
        matches.sort(key=lambda i: i.version != pref.get(i.group))
        return matches


_VERSION_RE = re.compile(r"^v\d+(?:(alpha|beta)\d+)?$")


def version_priority_key(version: str) -> tuple[int, int, int, str]:
    """Sort key giving kube-style version priority: GA > beta > alpha, higher numbers first,
    non-kube-like versions last by name (``apimachinery/pkg/version.CompareKubeAwareVersionStrings``)."""
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not m:
        return (3, 0, 0, version)
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, version)


def _split_resource_arg(text: str) -> list[tuple[str, str | None, str | None]]:
    """Readings of ``name``, ``name.group`` or ``name.version.group``, tried in order."""
    if "." not in text:
        return [(text, None, None)]
    name, rest = text.split(".", 1)
    head, _, tail = rest.partition(".")
    readings: list[tuple[str, str | None, str | None]] = []
    if tail and _VERSION_RE.match(head):
        readings.append((name, head, tail))
    readings.append((name, None, rest))
    return readings


def resources_from_crd(crd: Mapping[str, Any]) -> tuple[list[ResourceInfo], list[str]]:
    """The served resources of a CRD object and its versions in priority order.

    Only versions with ``served: true`` are returned; the ``storage: true`` version becomes
    every entry's ``storage_version``.
    """
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    plural = names.get("plural", "")
    kind = names.get("kind", "")
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    versions = [v for v in spec.get("versions") or [] if v.get("served")]
    storage = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")), "")
    ordered = sorted((v["name"] for v in versions), key=version_priority_key)
    infos = []
    for v in versions:
        subs: list[Subresource] = []
        declared = v.get("subresources") or {}
        if "scale" in declared:
            subs.append(Subresource("scale", "autoscaling", "v1", "Scale", ("get", "patch", "update")))
        if "status" in declared:
            subs.append(Subresource("status", group, v["name"], kind, ("get", "patch", "update")))
        infos.append(
            ResourceInfo(
                group=group,
                version=v["name"],
                resource=plural,
                singular=names.get("singular") or kind.lower(),
                kind=kind,
                namespaced=namespaced,
                verbs=_table.CRUD,
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=tuple(subs),
                storage_prefix=f"{group}/{plural}",
                storage_version=f"{group}/{storage}" if storage else "",
                list_kind=names.get("listKind") or kind + "List",
                custom=True,
                crd=crd,
            )
        )
    return infos, ordered


BUILTIN: Registry = Registry.build(_builtin_infos(), _table.GROUP_ORDER)
"""The built-in resources kube-apiserver v1.36 serves by default."""

