"""Resource handles and URL paths: pure, no I/O.

A ``Resource`` names one served resource (group, version, plural) with what discovery knows
about it (kind, scope, verbs, short names, subresources). Calls may also address a resource
with a plain ``(group, version, resource)`` tuple; then the scope follows from whether a
namespace is given.

Paths follow the API server layout:
``/api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]`` for the core group and
``/apis/{group}/{version}/...`` for the others.
"""

from __future__ import annotations

from typing import Union
from urllib.parse import quote

import attrs

__all__ = [
    "CONFIGMAPS",
    "EVENTS",
    "LEASES",
    "NAMESPACES",
    "NODES",
    "PODS",
    "SECRETS",
    "SERVICES",
    "Resource",
    "ResourceLike",
    "as_resource",
    "object_path",
]


@attrs.frozen(slots=True)
class Resource:
    """One served resource.

    ``namespaced`` is None when unknown (tuple addressing): the namespace argument decides.
    """

    group: str
    version: str
    resource: str
    kind: str = ""
    namespaced: bool | None = None
    verbs: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``resource.group`` as in messages (``deployments.apps``), ``pods`` for core."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def __str__(self) -> str:
        return f"{self.group_resource}/{self.version}"


ResourceLike = Union[Resource, tuple[str, str, str]]


def as_resource(res: ResourceLike) -> Resource:
    """A ``Resource`` for a handle or a ``(group, version, resource)`` tuple."""
    if isinstance(res, Resource):
        return res
    group, version, resource = res
    return Resource(group, version, resource)


def object_path(
    res: Resource,
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The URL path of a collection, an object or an object's subresource.

    A cluster-scoped ``Resource`` ignores ``namespace``.

    Raises:
        ValueError: a subresource without a name, or an empty name/namespace segment.
    """
    parts = [res.base_path()]
    if namespace is not None and res.namespaced is not False:
        if not namespace:
            raise ValueError("namespace must not be empty")
        parts.append("namespaces/" + _segment(namespace))
    parts.append(res.resource)
    if name is not None:
        if not name:
            raise ValueError("name must not be empty")
        parts.append(_segment(name))
    if subresource:
        if name is None:
            raise ValueError("a subresource needs an object name")
        parts.append(subresource)
    return "/".join(parts)


def _segment(value: str) -> str:
    if value in (".", "..") or "/" in value:
        raise ValueError(f"{value!r} may not be used as a path segment")
    return quote(value, safe="")


#: Handles for resources the in-process components use constantly (no discovery needed).
PODS = Resource("", "v1", "pods", "Pod", True, subresources=(
    "status", "binding", "eviction", "log", "ephemeralcontainers", "resize", "exec", "attach",
    "portforward"))
NODES = Resource("", "v1", "nodes", "Node", False, subresources=("status", "proxy"))
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False,
                      subresources=("status", "finalize"))
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap", True)
SECRETS = Resource("", "v1", "secrets", "Secret", True)
SERVICES = Resource("", "v1", "services", "Service", True, subresources=("status", "proxy"))
EVENTS = Resource("", "v1", "events", "Event", True)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", True)
