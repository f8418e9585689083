"""The shipped OpenAPI data: v2 filtering, v3 conversion, patch metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from k3trio.api.openapi_data import (
    definition_for_kind,
    openapi_v2_document,
    openapi_v3_document,
    openapi_v3_group_versions,
    type_patch_meta,
)
from k3trio.api.registry import BUILTIN

REFERENCE_V3 = Path(__file__).resolve().parents[4] / "shared" / "reference" / "openapi" / "v3"
SERVED = [(gv.group, gv.version) for gv in BUILTIN.group_versions()]


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        out = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            out |= _refs(value)
        return out
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    return set()


def test_v2_keeps_only_served_paths() -> None:
    doc = openapi_v2_document(SERVED)
    assert doc["swagger"] == "2.0"
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" in doc["paths"]
    assert "/apis/resource.k8s.io/v1beta1/deviceclasses" not in doc["paths"]
    assert "/apis/storagemigration.k8s.io/" not in doc["paths"]
    assert "/version/" in doc["paths"]
    assert "io.k8s.api.core.v1.Pod" in doc["definitions"]


def test_v3_index_lists_served_group_versions() -> None:
    keys = openapi_v3_group_versions(SERVED)
    assert "api/v1" in keys and "apis/apps/v1" in keys and "apis/autoscaling/v2" in keys
    assert "apis/resource.k8s.io/v1beta2" not in keys


@pytest.mark.parametrize(("group", "version"), [("", "v1"), ("apps", "v1"), ("batch", "v1"), ("rbac.authorization.k8s.io", "v1")])
def test_v3_documents_are_self_contained(group: str, version: str) -> None:
    doc = openapi_v3_document(group, version)
    assert doc is not None and doc["openapi"] == "3.0.0"
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas
    assert "#/definitions/" not in json.dumps(doc)


def test_v3_wraps_refs_with_siblings_in_all_of() -> None:
    doc = openapi_v3_document("apps", "v1")
    spec = doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]
    assert spec["selector"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"}
    ]
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]
    assert "requestBody" in op
    assert op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("apps.v1.Deployment")
    assert openapi_v3_document("nope", "v1") is None


@pytest.mark.skipif(not REFERENCE_V3.is_dir(), reason="reference documents not present")
@pytest.mark.parametrize("name", ["api__v1_openapi.json", "apis__apps__v1_openapi.json", "apis__batch__v1_openapi.json"])
def test_v3_matches_reference_shape(name: str) -> None:
    ref = json.loads((REFERENCE_V3 / name).read_text())
    gv = name.removesuffix("_openapi.json").split("__")[1:]
    group, version = ("", gv[0]) if len(gv) == 1 else (gv[0], gv[1])
    mine = openapi_v3_document(group, version)
    assert set(mine["paths"]) == set(ref["paths"])
    for path, item in ref["paths"].items():
        assert set(mine["paths"][path]) == set(item), path
    # The swagger comes from an all-features build, the v3 references from a default one:
    # schema sets agree except for a handful of feature-gated types.
    assert len(set(ref["components"]["schemas"]) ^ set(mine["components"]["schemas"])) < 10
    assert mine["components"]["securitySchemes"] == ref["components"]["securitySchemes"]


def test_patch_meta() -> None:
    pod = definition_for_kind("", "v1", "Pod")
    assert pod == "io.k8s.api.core.v1.Pod"
    spec = type_patch_meta(pod).child("spec")
    containers = spec.field("containers")
    assert containers.strategies == ("merge",) and containers.merge_key == "name"
    assert spec.field("volumes").strategies == ("merge", "retainKeys")
    assert spec.child("containers").field("ports").merge_key == "containerPort"
    assert spec.child("containers").field("env").merge_key == "name"
    meta = type_patch_meta("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    assert meta.field("finalizers").strategies == ("merge",)
    assert meta.field("finalizers").list_type == "set"
    assert spec.field("tolerations").strategies == ()
    assert spec.field("nodeSelector").container == "m"
    assert type_patch_meta("no.such.Type").field("x").strategies == ()
    assert definition_for_kind("apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
