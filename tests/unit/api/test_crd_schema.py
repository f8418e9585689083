"""Custom resource schemas: validation messages, pruning, defaulting, printer columns, CRD
object validation and the OpenAPI v3 document kubectl explain reads."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest

from k3trio.api import crd as crdlib
from k3trio.api.registry import BUILTIN

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["cronSpec"],
            "properties": {
                "cronSpec": {"type": "string", "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"},
                "image": {"type": "string", "minLength": 2, "maxLength": 10},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                "size": {"type": "string", "enum": ["S", "M"]},
                "ratio": {"type": "number", "exclusiveMaximum": True, "maximum": 1},
                "port": {"x-kubernetes-int-or-string": True},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "port": {"type": "integer", "default": 80}},
                    },
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "opt": {"type": "string", "nullable": True},
                "nested": {
                    "type": "object",
                    "default": {},
                    "properties": {"level": {"type": "string", "default": "info"}},
                },
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def _cr(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "stable.example.com/v1",
        "kind": "CronTab",
        "metadata": {"name": "c1", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"cronSpec": "* * * * */5", **spec},
    }


def _messages(obj: dict[str, Any]) -> list[str]:
    return [str(e) for e in crdlib.validate(SCHEMA, obj)]


def test_valid_object_has_no_errors() -> None:
    obj = _cr(image="nginx", replicas=3, size="S", ratio=0.5, port="http", when="2024-01-01T10:00:00Z",
              tags=["a", "b"], ports=[{"name": "a"}, {"name": "b"}], labels={"x": "y"}, opt=None,
              template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
    assert _messages(obj) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"replicas": "3"}, 'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'),
        ({"replicas": 0}, "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"),
        ({"replicas": 11}, "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
        ({"ratio": 1}, "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"),
        ({"size": "XL"}, 'spec.size: Unsupported value: "XL": supported values: "S", "M"'),
        ({"image": "n"}, 'spec.image: Invalid value: "n": spec.image in body should be at least 2 chars long'),
        ({"image": "n" * 11}, 'spec.image: Too long: must have at most 10 bytes'),
        ({"cronSpec": "bad"}, 'spec.cronSpec: Invalid value: "bad": spec.cronSpec in body should match '
                              "'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'"),
        ({"port": 1.5}, 'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"'),
        ({"when": "yesterday"}, 'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"'),
        ({"tags": ["a", "b", "c"]}, "spec.tags: Too many: 3: must have at most 2 items"),
        ({"tags": ["a", "a"]}, 'spec.tags[1]: Duplicate value: "a"'),
        ({"ports": [{"name": "a"}, {"name": "a"}]}, 'spec.ports[1]: Duplicate value: "a"'),
        ({"labels": {"x": 1}}, 'spec.labels.x: Invalid value: "integer": spec.labels.x in body must be of type string: "integer"'),
        ({"image": None}, 'spec.image: Invalid value: "null": spec.image in body must be of type string: "null"'),
        ({"template": {"metadata": {}}}, "spec.template.apiVersion: Required value: must not be empty"),
    ],
)
def test_validation_messages(spec: dict[str, Any], expected: str) -> None:
    assert expected in _messages(_cr(**spec))


def test_required_field() -> None:
    obj = _cr()
    del obj["spec"]["cronSpec"]
    assert _messages(obj) == ["spec.cronSpec: Required value"]


def test_type_error_stops_deeper_checks() -> None:
    assert _messages(_cr(labels=["x"])) == [
        'spec.labels: Invalid value: "array": spec.labels in body must be of type object: "array"'
    ]


def test_int32_format_range() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "format": "int32"}}}
    assert crdlib.validate(schema, {"n": 2**31 - 1}) == []
    assert [e.field for e in crdlib.validate(schema, {"n": 2**31})] == ["n"]


def test_prune_drops_unknown_fields_and_reports_paths() -> None:
    obj = _cr(extra=1, ports=[{"name": "a", "junk": True}], free={"anything": {"goes": 1}},
              template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}})
    obj["metadata"]["bogus"] = "x"
    obj["status"] = {"ready": True, "phase": "x"}
    obj["top"] = 1
    dropped = crdlib.prune(SCHEMA, obj)
    assert dropped == ["metadata.bogus", "spec.extra", "spec.ports[0].junk", "status.phase", "top"]
    assert obj["apiVersion"] == "stable.example.com/v1" and obj["kind"] == "CronTab"
    assert obj["spec"]["free"] == {"anything": {"goes": 1}}
    assert obj["spec"]["template"]["spec"] == {}
    assert obj["status"] == {"ready": True}


def test_defaults_fill_absent_and_non_nullable_null() -> None:
    obj = _cr(ports=[{"name": "a"}], replicas=None, opt=None)
    crdlib.apply_defaults(SCHEMA, obj)
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["ports"] == [{"name": "a", "port": 80}]
    assert spec["nested"] == {"level": "info"}
    assert "opt" in spec and spec["opt"] is None  # nullable keeps null
    # defaults are copies
    other = _cr()
    crdlib.apply_defaults(SCHEMA, other)
    other["spec"]["nested"]["level"] = "debug"
    assert SCHEMA["properties"]["spec"]["properties"]["nested"]["default"] == {}


def _crd(**over: Any) -> dict[str, Any]:
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"],
                      "listKind": "CronTabList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": copy.deepcopy(SCHEMA)},
                    "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                             "statusReplicasPath": ".status.replicas"}},
                    "additionalPrinterColumns": [
                        {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                        {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready", "priority": 1},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }
    crd["spec"].update(over)
    return crd


def test_valid_crd() -> None:
    assert crdlib.validate_crd(_crd()) == []


def test_crd_rules() -> None:
    bad = _crd(group="example", scope="Global", versions=[
        {"name": "v1", "served": False, "storage": False},
        {"name": "V2", "served": False, "storage": False,
         "schema": {"openAPIV3Schema": {"properties": {"spec": {"properties": {}}}}}},
    ])
    bad["metadata"]["name"] = "wrong"
    msgs = [str(e) for e in crdlib.validate_crd(bad)]
    assert 'metadata.name: Invalid value: "wrong": must be spec.names.plural+"."+spec.group' in msgs
    assert 'spec.group: Invalid value: "example": should be a domain with at least one dot' in msgs
    assert 'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"' in msgs
    assert "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required" in msgs
    assert "spec.versions[1].schema.openAPIV3Schema.type: Required value: must not be empty at the root" in msgs
    assert ("spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: "
            "must not be empty for specified object fields") in msgs
    assert any(m.startswith("spec.versions[1].name: Invalid value: \"V2\"") for m in msgs)
    assert any(m.endswith("must have exactly one version marked as storage version") for m in msgs)


def test_crd_update_immutables() -> None:
    new = _crd(scope="Cluster")
    msgs = [str(e) for e in crdlib.validate_crd(new, _crd())]
    assert msgs == ['spec.scope: Invalid value: "Cluster": field is immutable']


def test_printer_table() -> None:
    now = datetime(2024, 1, 3, 0, 0, tzinfo=timezone.utc)
    obj = _cr(replicas=3)
    obj["status"] = {"ready": True}
    table = crdlib.printer_table(_crd(), "v1", [obj], now=now)
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == ["Name", "Spec", "Replicas", "Ready", "Age"]
    assert table["columnDefinitions"][3]["priority"] == 1
    assert table["rows"][0]["cells"] == ["c1", "* * * * */5", 3, True, "2d"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_printer_default_columns_are_name_and_age() -> None:
    crd = _crd()
    del crd["spec"]["versions"][0]["additionalPrinterColumns"]
    cols = crdlib.printer_columns(crd, "v1")
    assert [(c["name"], c["type"], c["format"]) for c in cols] == [("Name", "string", "name"), ("Age", "date", "")]
    now = datetime(2024, 1, 1, 0, 5, tzinfo=timezone.utc)
    table = crdlib.printer_table(crd, "v1", [_cr()], now=now, include_object="None")
    assert table["rows"] == [{"cells": ["c1", "5m"]}]


def test_missing_values_are_null_cells() -> None:
    table = crdlib.printer_table(_crd(), "v1", [_cr()], now=datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert table["rows"][0]["cells"][2:4] == [None, None]


def test_v3_document_for_custom_resource() -> None:
    crd = _crd()
    doc = crdlib.crd_v3_document("stable.example.com", "v1", [crd])
    schemas = doc["components"]["schemas"]
    cr = schemas["com.example.stable.v1.CronTab"]
    assert cr["x-kubernetes-group-version-kind"] == [{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]
    assert cr["properties"]["metadata"]["allOf"][0]["$ref"].endswith("meta.v1.ObjectMeta")
    assert "com.example.stable.v1.CronTabList" in schemas
    paths = doc["paths"]
    item = paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
    assert item["patch"]["x-kubernetes-group-version-kind"]["kind"] == "CronTab"
    assert item["patch"]["operationId"] == "patchStableExampleComV1NamespacedCronTab"
    assert "fieldValidation" in [p["name"] for p in item["patch"]["parameters"]]
    assert "/apis/stable.example.com/v1/crontabs" in paths
    assert "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/status" in paths
    scale = paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale"]
    assert scale["get"]["x-kubernetes-group-version-kind"]["kind"] == "Scale"
    # every reference resolves
    refs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"].rsplit("/", 1)[1])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert refs <= schemas.keys()


def test_v3_document_cluster_scoped() -> None:
    crd = _crd(scope="Cluster")
    doc = crdlib.crd_v3_document("stable.example.com", "v1", [crd])
    assert "/apis/stable.example.com/v1/crontabs/{name}" in doc["paths"]
    assert not any("namespaces" in p for p in doc["paths"])
    params = doc["paths"]["/apis/stable.example.com/v1/crontabs/{name}"]["parameters"]
    assert "namespace" not in [p["name"] for p in params]
    assert doc["paths"]["/apis/stable.example.com/v1/crontabs"]["get"]["operationId"] == "listStableExampleComV1CronTab"


def test_registry_keeps_crd_for_schemas() -> None:
    reg = BUILTIN.with_crd(_crd())
    info = reg.get("stable.example.com", "v1", "crontabs")
    assert info is not None and info.crd is not None
    assert crdlib.version_schema(info.crd, "v1")["properties"]["spec"]["type"] == "object"
