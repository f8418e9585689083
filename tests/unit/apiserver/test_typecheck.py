"""JSON types of built-in objects as Go decoding and the unstructured converter check them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from k3trio.apiserver.handlers.typecheck import (
    go_json,
    go_sprint,
    json_decode_error,
    patched_json_text,
    unstructured_error,
)


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"app": "d"}, "creationTimestamp": None,
                     "annotations": None, "managedFields": [{"fieldsV1": {"f:spec": {}}, "time": "2024-01-01T00:00:00Z"}]},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "d"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [{
                        "name": "c", "image": "nginx", "args": ["a"],
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "resources": {"limits": {"cpu": "500m", "memory": 1024}},
                        "livenessProbe": {"httpGet": {"port": "http", "path": "/"}},
                    }],
                },
            },
        },
        "status": {"replicas": 0},
    }


def decode_error(obj: dict[str, Any], group: str = "apps", version: str = "v1", kind: str = "Deployment") -> str | None:
    return json_decode_error(group, version, kind, obj)


def test_a_well_typed_deployment_passes_and_null_is_accepted_anywhere() -> None:
    assert decode_error(deployment()) is None
    obj = deployment()
    obj["spec"]["replicas"] = None
    obj["spec"]["template"]["spec"]["containers"] = [None]
    obj["metadata"]["labels"] = {"a": None}
    assert decode_error(obj) is None


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("spec", "replicas"), "x",
         "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        (("spec", "replicas"), 2**31, "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32"),
        (("spec", "replicas"), 1.5, "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
        (("spec", "paused"), "yes", "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool"),
        (("spec",), "x", "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec"),
        (("spec", "template", "spec", "containers"), {"name": "c"},
         "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container"),
        (("spec", "template", "spec", "terminationGracePeriodSeconds"), True,
         "json: cannot unmarshal bool into Go struct field PodSpec.spec.template.spec.terminationGracePeriodSeconds of type int64"),
        (("metadata", "labels"), ["a"], "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
        (("metadata", "name"), 5, "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string"),
        (("metadata", "creationTimestamp"), 5, "json: cannot unmarshal number into Go value of type string"),
        (("spec", "strategy", "rollingUpdate", "maxSurge"), True, "json: cannot unmarshal bool into Go value of type int32"),
        (("spec", "strategy", "rollingUpdate", "maxSurge"), 1.5, "json: cannot unmarshal number 1.5 into Go value of type int32"),
    ],
)
def test_json_decoding_errors(path: tuple[str, ...], value: Any, message: str) -> None:
    obj = deployment()
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert decode_error(obj) == message


def test_errors_inside_lists_and_maps_name_the_innermost_struct_without_indices() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "80"
    assert decode_error(obj) == (
        "json: cannot unmarshal string into Go struct field "
        "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"
    )
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["args"] = ["a", 1]
    assert decode_error(obj) == (
        "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.args of type string"
    )


def test_quantities_are_parsed_and_their_error_wins_over_an_earlier_type_error() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "lots"
    quantity = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    assert decode_error(obj) == quantity
    obj["spec"]["replicas"] = "x"  # saved first, but a failing unmarshaller ends decoding
    assert decode_error(obj) == quantity


def test_first_type_error_in_document_order_and_unknown_fields_ignored() -> None:
    obj = deployment()
    obj["spec"]["replicas"] = "x"
    obj["spec"]["paused"] = "y"
    obj["spec"]["unknown"] = 5
    assert "spec.replicas" in (decode_error(obj) or "")


def test_core_kinds_bytes_and_raw_extensions() -> None:
    assert json_decode_error("", "v1", "Secret", {"data": {"a": 1}}) == (
        "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"
    )
    assert json_decode_error("", "v1", "Secret", {"data": {"a": "YQ=="}}) is None
    assert json_decode_error("", "v1", "Service", {"spec": {"ports": [{"port": 80, "targetPort": "http"}]}}) is None
    assert json_decode_error("", "v1", "Service", {"spec": {"ports": [{"port": "80"}]}}) == (
        "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"
    )
    event = {"involvedObject": {"kind": "Pod"}, "eventTime": 3}
    assert json_decode_error("", "v1", "Event", event) == "json: cannot unmarshal number into Go value of type string"
    cr = {"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {"type": "object", "x": [1, {}]}}}]}}
    assert json_decode_error("apiextensions.k8s.io", "v1", "CustomResourceDefinition", cr) is None


def test_unknown_kinds_are_not_checked() -> None:
    assert json_decode_error("example.com", "v1", "Widget", {"spec": {"replicas": "x"}}) is None


def test_unstructured_conversion_messages_and_normalisation() -> None:
    obj = deployment()
    obj["spec"]["replicas"] = "x"
    assert unstructured_error("apps", "v1", "Deployment", obj) == "unrecognized type: int32"
    obj = deployment()
    obj["spec"]["replicas"] = 1.5
    assert unstructured_error("apps", "v1", "Deployment", obj) == "cannot convert float64 to int32"
    obj = deployment()
    obj["spec"]["template"] = "x"
    assert unstructured_error("apps", "v1", "Deployment", obj) == "cannot restore struct from: string"
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"] = {}
    assert unstructured_error("apps", "v1", "Deployment", obj) == "cannot restore slice from map"
    obj = deployment()
    obj["metadata"]["labels"] = "x"
    assert unstructured_error("apps", "v1", "Deployment", obj) == "cannot restore map from string"
    obj = deployment()
    obj["metadata"]["name"] = 7
    assert unstructured_error("apps", "v1", "Deployment", obj) == "cannot convert int64 to string"
    obj = deployment()
    obj["spec"]["replicas"] = 3.0
    obj["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 2**40 + 0.0
    obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = 2.0
    obj["status"]["replicas"] = 2**32 + 5
    assert unstructured_error("apps", "v1", "Deployment", obj) is None
    assert obj["spec"]["replicas"] == 3 and type(obj["spec"]["replicas"]) is int
    assert obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 2
    assert obj["status"]["replicas"] == 5  # int32 conversion wraps
    assert type(obj["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]) is int


def test_go_renderings() -> None:
    assert go_sprint({"spec": {"replicas": "x", "b": [1, None, True, 1.5, 1e6, 0.00001, 123456.0]}}) == (
        "map[spec:map[b:[1 <nil> true 1.5 1e+06 1e-05 123456] replicas:x]]"
    )
    assert go_json({"a": "<&>"}) == '{"a":"\\u003c\\u0026\\u003e"}'
    result = {"kind": "Deployment", "apiVersion": "apps/v1", "spec": {"template": {"z": 1, "a": 2}, "replicas": "x"}}
    assert patched_json_text(result, {"spec": {"replicas": "x"}}, "application/merge-patch+json") == (
        '{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":"x","template":{"z":1,"a":2}}}'
    )
    ops = [{"op": "replace", "path": "/spec/replicas", "value": "x"}]
    assert patched_json_text(result, ops, "application/json-patch+json") == (
        '{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":"x","template":{"z":1,"a":2}}}'
    )


def test_checking_a_deployment_is_fast() -> None:
    obj = deployment()
    json_decode_error("apps", "v1", "Deployment", obj)  # compile
    rounds = 500
    start = time.perf_counter()
    for _ in range(rounds):
        json_decode_error("apps", "v1", "Deployment", obj)
        unstructured_error("apps", "v1", "Deployment", obj)
    per_call = (time.perf_counter() - start) / rounds / 2
    assert per_call < 0.001
