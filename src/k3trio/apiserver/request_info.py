"""What a request URL and method mean: ``RequestInfo`` as upstream's RequestInfoFactory builds it.

Pure. Rules (``k8s.io/apiserver/pkg/endpoints/request``):

- ``/api/<version>/...`` (core) and ``/apis/<group>/<version>/...`` are resource requests;
  anything else (or a prefix with too few parts) is a non-resource request whose verb is
  the lower-cased HTTP method.
- The HTTP method gives the verb: POST create, GET/HEAD get, PUT update, PATCH patch,
  DELETE delete. A ``watch`` or ``proxy`` first segment overrides it.
- ``namespaces/<ns>/...`` sets the namespace unless the segment after it is ``status`` or
  ``finalize`` (then the namespace object itself is addressed).
- ``resource[/name[/subresource]]``; proxy takes no subresource.
- Without a name, get becomes list (watch with ``?watch=true``) and delete becomes
  deletecollection. A list or watch with ``fieldSelector=metadata.name=<x>`` names ``x``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..api import fields
from .interfaces import RequestInfo

__all__ = ["request_info", "NAMESPACE_SUBRESOURCES"]

API_PREFIXES = frozenset(("api", "apis"))
GROUPLESS_PREFIXES = frozenset(("api",))
SPECIAL_VERBS = frozenset(("proxy", "watch"))
SPECIAL_VERBS_NO_SUBRESOURCES = frozenset(("proxy",))
NAMESPACE_SUBRESOURCES = frozenset(("status", "finalize"))

_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


def _truthy(values: Sequence[str] | None) -> bool:
    """``?watch=true`` / ``?watch=1`` as Go's strconv.ParseBool reads them."""
    if not values:
        return False
    return values[-1] in ("1", "t", "T", "true", "TRUE", "True")


def request_info(method: str, path: str, query: Mapping[str, Sequence[str]] | None = None) -> RequestInfo:
    """Classify one request.

    Args:
        method: HTTP method (upper case).
        path: URL path (already percent-decoded, as ASGI provides it).
        query: parsed query parameters (lists of values).
    """
    query = query or {}
    parts = [p for p in path.strip("/").split("/")] if path.strip("/") else []
    non_resource = RequestInfo(is_resource_request=False, path=path, verb=method.lower())
    if len(parts) < 2 or parts[0] not in API_PREFIXES:
        return non_resource
    prefix = parts[0]
    parts = parts[1:]
    group = ""
    if prefix not in GROUPLESS_PREFIXES:
        if len(parts) < 2:
            return non_resource
        group = parts[0]
        parts = parts[1:]
    version = parts[0]
    parts = parts[1:]
    if not parts:
        # /api/v1, /apis/apps/v1: discovery documents.
        return non_resource
    verb = _METHOD_VERBS.get(method, "")
    if parts[0] in SPECIAL_VERBS:
        if len(parts) < 2:
            return non_resource  # upstream: "unable to determine kind and namespace"
        verb = parts[0]
        parts = parts[1:]
    namespace = ""
    if parts[0] == "namespaces":
        if len(parts) > 1:
            namespace = parts[1]
            if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
                parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else ""
    subresource = ""
    if len(parts) >= 3 and verb not in SPECIAL_VERBS_NO_SUBRESOURCES:
        subresource = parts[2]
    if not name and verb == "get":
        verb = "watch" if _truthy(query.get("watch")) else "list"
    if not name and verb == "delete":
        verb = "deletecollection"
    if verb in ("list", "watch") and not name:
        selector = (query.get("fieldSelector") or [""])[-1]
        if selector:
            try:
                parsed = fields.parse(selector)
            except ValueError:
                parsed = None
            if parsed is not None:
                exact = parsed.requires_exact("metadata.name")
                if exact:
                    name = exact
    return RequestInfo(
        is_resource_request=True,
        path=path,
        verb=verb,
        api_prefix=prefix,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        parts=tuple(parts),
    )
