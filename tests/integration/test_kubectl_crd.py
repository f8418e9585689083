"""CustomResourceDefinitions through kubectl: establishment, discovery (short name, category),
printer columns, schema validation messages, pruning, status subresource, explain."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from .conftest import Kubectl, unique

GROUP = "stable.example.com"
CRD_NAME = f"widgets.{GROUP}"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "listKind": "WidgetList",
            "shortNames": ["wd"],
            "categories": ["gadgets"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color",
                     "description": "The colour of the widget"},
                    {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "Widget is a test resource.",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "description": "WidgetSpec describes the desired widget.",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 10,
                                             "description": "How big the widget is."},
                                    "color": {"type": "string", "enum": ["red", "green", "blue"],
                                              "default": "red"},
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {"ready": {"type": "boolean"}},
                            },
                        },
                    }
                },
            }
        ],
    },
}


def _widget(name: str, **spec: object) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def crd(kctl: Kubectl) -> str:
    out = kctl.create(CRD)
    assert out.strip() == f"customresourcedefinition.apiextensions.k8s.io/{CRD_NAME} created", out
    kctl.ok("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=15s")
    return CRD_NAME


def test_crd_status_and_discovery(kctl: Kubectl, crd: str) -> None:
    obj = kctl.json("get", "crd", crd)
    conditions = {c["type"]: c["status"] for c in obj["status"]["conditions"]}
    assert conditions.get("Established") == "True" and conditions.get("NamesAccepted") == "True"
    assert obj["status"]["acceptedNames"]["shortNames"] == ["wd"]
    assert obj["status"]["storedVersions"] == ["v1"]
    resources = kctl.ok("api-resources", f"--api-group={GROUP}")
    row = next(line for line in resources.splitlines() if line.startswith("widgets "))
    assert row.split() == ["widgets", "wd", f"{GROUP}/v1", "true", "Widget"], row
    assert f"{GROUP}/v1" in kctl.ok("api-versions").split()


def test_short_name_table_uses_printer_columns(kctl: Kubectl, crd: str) -> None:
    name = unique("w")
    kctl.create(_widget(name, size=3, color="blue"))
    table = kctl.ok("get", "wd")
    header = table.splitlines()[0].split()
    assert header == ["NAME", "SIZE", "COLOR", "READY", "AGE"], table
    row = next(line.split() for line in table.splitlines() if line.startswith(name))
    assert row[:3] == [name, "3", "blue"], row
    by_category = kctl.ok("get", "gadgets", "-o", "name").split()
    assert f"widget.{GROUP}/{name}" in by_category, by_category
    assert kctl.ok("get", f"widgets.{GROUP}", name, "-o", "jsonpath={.spec.size}") == "3"


def test_schema_defaulting_and_pruning(kctl: Kubectl, crd: str) -> None:
    name = unique("w")
    manifest = _widget(name, size=2, unknownField="dropped")
    manifest["topLevelUnknown"] = True
    proc = kctl.run("create", "--validate=false", "-f", "-", input=yaml.safe_dump(manifest))
    assert proc.returncode == 0, proc.stderr
    obj = kctl.json("get", "widget", name)
    assert obj["spec"] == {"size": 2, "color": "red"}, obj["spec"]
    assert "topLevelUnknown" not in obj
    # Strict validation names the unknown field instead of pruning it silently.
    strict = _widget(unique("w"), size=2, unknownField="x")
    err = kctl.fail("create", "--validate=strict", "-f", "-", input=yaml.safe_dump(strict))
    assert 'strict decoding error: unknown field "spec.unknownField"' in err, err


def test_invalid_custom_resource_rejected(kctl: Kubectl, crd: str) -> None:
    err = kctl.fail("create", "-f", "-", input=yaml.safe_dump(_widget("bad", size="big")))
    assert err.strip() == (
        'The Widget "bad" is invalid: spec.size: Invalid value: "string": '
        'spec.size in body must be of type integer: "string"'
    ), err
    err = kctl.fail("create", "-f", "-", input=yaml.safe_dump(_widget("bad", size=11)))
    assert re.search(
        r'The Widget "bad" is invalid: spec\.size: Invalid value: 11: '
        r"spec\.size in body should be less than or equal to 10",
        err,
    ), err
    err = kctl.fail("create", "-f", "-", input=yaml.safe_dump(_widget("bad", size=1, color="pink")))
    assert 'spec.color: Unsupported value: "pink": supported values: "red", "green", "blue"' in err, err
    err = kctl.fail("create", "-f", "-", input=yaml.safe_dump(_widget("bad")))
    assert "spec.size: Required value" in err, err
    assert "NotFound" in kctl.fail("get", "widget", "bad")


def test_status_subresource(kctl: Kubectl, crd: str) -> None:
    name = unique("w")
    kctl.create(_widget(name, size=1))
    before = kctl.json("get", "widget", name)
    assert before["metadata"]["generation"] == 1
    # Writes to the main resource ignore status.
    kctl.ok("patch", "widget", name, "--type=merge", "-p", '{"status":{"ready":true}}')
    assert "status" not in kctl.json("get", "widget", name)
    kctl.ok(
        "patch", "widget", name, "--subresource=status", "--type=merge",
        "-p", '{"status":{"ready":true},"spec":{"size":9}}',
    )
    obj = kctl.json("get", "widget", name)
    assert obj["status"] == {"ready": True}
    assert obj["spec"]["size"] == 1, "the status subresource ignores spec"
    assert obj["metadata"]["generation"] == 1, "status writes do not bump generation"
    kctl.ok("patch", "widget", name, "--type=merge", "-p", '{"spec":{"size":4}}')
    assert kctl.json("get", "widget", name)["metadata"]["generation"] == 2
    table = kctl.ok("get", "wd", name)
    assert table.splitlines()[1].split()[:4] == [name, "4", "red", "true"], table


def test_explain_custom_kind(kctl: Kubectl, crd: str) -> None:
    out = kctl.ok("explain", "widgets")
    assert re.search(rf"^GROUP:\s+{re.escape(GROUP)}$", out, re.M), out
    assert re.search(r"^KIND:\s+Widget$", out, re.M), out
    assert "Widget is a test resource." in out, out
    out = kctl.ok("explain", "widgets.spec")
    assert re.search(r"^FIELD:\s+spec <Object>", out, re.M), out
    assert re.search(r"^\s+size\s+<integer> -required-", out, re.M), out
    assert "How big the widget is." in out


def test_crd_delete_removes_resources(kctl: Kubectl) -> None:
    crd = json.loads(json.dumps(CRD))
    crd["metadata"]["name"] = f"gizmos.{GROUP}"
    crd["spec"]["names"] = {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"}
    kctl.create(crd)
    kctl.ok("wait", "--for=condition=Established", f"crd/gizmos.{GROUP}", "--timeout=15s")
    g = _widget("g1", size=1)
    g["kind"] = "Gizmo"
    kctl.create(g)
    kctl.ok("delete", "crd", f"gizmos.{GROUP}", "--timeout=20s")
    err = kctl.fail("get", f"gizmos.{GROUP}")
    assert 'the server doesn\'t have a resource type "gizmos' in err, err
