"""OpenAPI v3 documents for custom resources (``/openapi/v3/apis/<group>/<version>``).

A custom group-version's document is built from the CRDs serving it, the way the
apiextensions OpenAPI builder does: one schema per kind named after the reversed group
(``stable.example.com`` -> ``com.example.stable.v1.CronTab``) holding the version's
``openAPIV3Schema`` with the standard ``apiVersion``/``kind``/``metadata`` properties, a
``<Kind>List`` schema, and the REST paths (list, create, delete collection, get, replace,
patch, delete, and the ``status``/``scale`` subresources). Path operations carry
``x-kubernetes-group-version-kind`` and the same query parameters as built-in ones
(``fieldValidation``, ``dryRun``, ``fieldManager``, ...), which is what kubectl looks for
before trusting server-side field validation.

Invariants:
- Paths are derived from the built-in ``apps/v1`` Deployment paths (the same generic REST
  handlers serve both), renamed for the custom resource; cluster-scoped resources lose the
  ``namespaces/{namespace}`` segment and parameter. No deprecated ``/watch/`` paths.
- Every ``$ref`` in the document resolves inside ``components.schemas``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from k3trio.api.openapi_data import openapi_v3_document

__all__ = ["crd_v3_document", "schema_name", "version_schema"]

_REF = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should "
    "convert recognized schemas to the latest internal value, and may reject unrecognized values. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer "
    "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
_METADATA_DOC = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_LIST_METADATA_DOC = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)

_TEMPLATE_PREFIX = "/apis/apps/v1/"
_TEMPLATE_PATHS = {
    "collection_all": "deployments",
    "collection": "namespaces/{namespace}/deployments",
    "item": "namespaces/{namespace}/deployments/{name}",
    "status": "namespaces/{namespace}/deployments/{name}/status",
    "scale": "namespaces/{namespace}/deployments/{name}/scale",
}


def schema_name(group: str, version: str, kind: str) -> str:
    """``com.example.stable.v1.CronTab`` for ``stable.example.com/v1`` ``CronTab``."""
    reversed_group = ".".join(reversed(group.split(".")))
    return f"{reversed_group}.{version}.{kind}"


def _op_prefix(group: str, version: str) -> str:
    # ``stable.example.com`` -> ``StableExampleCom``; ``v1beta1`` -> ``V1beta1``.
    words = [w for part in group.split(".") for w in part.split("-") if w]
    return "".join(w[:1].upper() + w[1:] for w in words) + version[:1].upper() + version[1:]


def _tag(group: str, version: str) -> str:
    camel = _op_prefix(group, "")
    return f"{camel[:1].lower()}{camel[1:]}_{version}"


def _find_version(crd: Mapping[str, Any], version: str) -> Mapping[str, Any]:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version:
            found: Mapping[str, Any] = v
            return found
    return {}


def version_schema(crd: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of one CRD version (a deep copy; permissive when absent)."""
    v = _find_version(crd, version)
    schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    return copy.deepcopy(dict(schema))


def _object_schema(crd: Mapping[str, Any], group: str, version: str, kind: str) -> dict[str, Any]:
    schema = version_schema(crd, version)
    props = dict(schema.get("properties") or {})
    props["apiVersion"] = {"description": _API_VERSION_DOC, "type": "string"}
    props["kind"] = {"description": _KIND_DOC, "type": "string"}
    props["metadata"] = {"description": _METADATA_DOC, "allOf": [{"$ref": _REF + _META + "ObjectMeta"}]}
    schema["properties"] = dict(sorted(props.items()))
    schema.setdefault("type", "object")
    schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return schema


def _list_schema(group: str, version: str, kind: str, list_kind: str, plural: str) -> dict[str, Any]:
    return {
        "description": f"{list_kind} is a list of {kind}",
        "properties": {
            "apiVersion": {"description": _API_VERSION_DOC, "type": "string"},
            "items": {
                "description": f"List of {plural}. More info: "
                "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md",
                "items": {"$ref": _REF + schema_name(group, version, kind)},
                "type": "array",
            },
            "kind": {"description": _KIND_DOC, "type": "string"},
            "metadata": {"description": _LIST_METADATA_DOC, "allOf": [{"$ref": _REF + _META + "ListMeta"}]},
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": group, "kind": list_kind, "version": version}],
    }


def _rename(node: Any, subs: list[tuple[str, str]], gvk: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_rename(x, subs, gvk) for x in node]
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "x-kubernetes-group-version-kind" and value.get("kind") == "Deployment":
                out[key] = dict(gvk)
            elif key == "parameters" and isinstance(value, list) and gvk.get("_cluster"):
                out[key] = [_rename(p, subs, gvk) for p in value if p.get("name") != "namespace"]
            else:
                out[key] = _rename(value, subs, gvk)
        return out
    if isinstance(node, str):
        for old, new in subs:
            node = node.replace(old, new)
        return node
    return node


def _paths_for(info_crd: Mapping[str, Any], group: str, version: str, template: dict[str, Any]) -> dict[str, Any]:
    spec = info_crd.get("spec") or {}
    names = spec.get("names") or {}
    kind = names.get("kind", "")
    plural = names.get("plural", "")
    list_kind = names.get("listKind") or kind + "List"
    cluster = spec.get("scope") == "Cluster"
    declared = _find_version(info_crd, version).get("subresources") or {}
    name = schema_name(group, version, kind)
    ops_scope = "" if cluster else "Namespaced"
    subs = [
        ("io.k8s.api.apps.v1.DeploymentList", schema_name(group, version, list_kind)),
        ("io.k8s.api.apps.v1.Deployment", name),
        ("AppsV1NamespacedDeployment", _op_prefix(group, version) + ops_scope + kind),
        ("AppsV1DeploymentForAllNamespaces", _op_prefix(group, version) + kind + "ForAllNamespaces"),
        ("apps_v1", _tag(group, version)),
        ("Deployment", kind),
    ]
    gvk: dict[str, Any] = {"group": group, "kind": kind, "version": version}
    if cluster:
        gvk["_cluster"] = True
    base = f"/apis/{group}/{version}/"
    wanted = ["collection", "item"]
    if not cluster:
        wanted.insert(0, "collection_all")
    if "status" in declared:
        wanted.append("status")
    if "scale" in declared:
        wanted.append("scale")
    paths: dict[str, Any] = {}
    for which in wanted:
        tail = _TEMPLATE_PATHS[which].replace("deployments", plural)
        if cluster:
            tail = tail.replace("namespaces/{namespace}/", "")
        item = _rename(template[_TEMPLATE_PREFIX + _TEMPLATE_PATHS[which]], subs, gvk)
        _strip_private(item)
        paths[base + tail] = item
    return paths


def _strip_private(node: Any) -> None:
    if isinstance(node, dict):
        gvk = node.get("x-kubernetes-group-version-kind")
        if isinstance(gvk, dict):
            gvk.pop("_cluster", None)
        for value in node.values():
            _strip_private(value)
    elif isinstance(node, list):
        for value in node:
            _strip_private(value)


def _collect_refs(node: Any, into: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            into.add(ref[len(_REF):])
        for value in node.values():
            _collect_refs(value, into)
    elif isinstance(node, list):
        for value in node:
            _collect_refs(value, into)


def crd_v3_document(group: str, version: str, crds: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The OpenAPI v3 document of a custom group-version served by ``crds``."""
    template = openapi_v3_document("apps", "v1")
    assert template is not None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        kind = names.get("kind", "")
        list_kind = names.get("listKind") or kind + "List"
        schemas[schema_name(group, version, kind)] = _object_schema(crd, group, version, kind)
        schemas[schema_name(group, version, list_kind)] = _list_schema(
            group, version, kind, list_kind, names.get("plural", "")
        )
        paths.update(_paths_for(crd, group, version, template["paths"]))
    # Pull in the shared meta types (ObjectMeta, Status, Scale, ...) the document refers to.
    library = template["components"]["schemas"]
    pending: set[str] = set()
    _collect_refs(paths, pending)
    _collect_refs(schemas, pending)
    while pending:
        ref = pending.pop()
        if ref in schemas or ref not in library:
            continue
        schemas[ref] = library[ref]
        found: set[str] = set()
        _collect_refs(library[ref], found)
        pending |= found - schemas.keys()
    return {
        "openapi": "3.0.0",
        "info": dict(template["info"]),
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": template["components"]["securitySchemes"],
        },
    }
