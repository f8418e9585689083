"""fieldValidation: unknown and duplicate fields against built-in and CRD schemas."""

from __future__ import annotations

from k3trio.api.registry import BUILTIN
from k3trio.apiserver.handlers.unknown_fields import decode_json, find_problems, unknown_fields


def test_builtin_unknown_fields_are_reported_with_paths_and_dropped() -> None:
    info = BUILTIN.get("apps", "v1", "deployments")
    body = (
        b'{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","foo":1},'
        b'"spec":{"replicas":1,"replicas":2,"template":{"spec":{"containers":[{"name":"c","bar":true}]}}}}'
    )
    obj, dups = decode_json(body)
    problems = unknown_fields(info, obj, dups)
    assert problems == [
        'unknown field "metadata.foo"',
        'duplicate field "spec.replicas"',
        'unknown field "spec.template.spec.containers[0].bar"',
    ]
    assert obj["spec"]["replicas"] == 2
    assert "foo" not in obj["metadata"]
    assert "bar" not in obj["spec"]["template"]["spec"]["containers"][0]


def test_maps_and_int_or_string_accept_anything() -> None:
    info = BUILTIN.get("", "v1", "services")
    obj = {"metadata": {"name": "s", "labels": {"any": "thing"}}, "spec": {"ports": [{"port": 80, "targetPort": "http"}]}}
    assert unknown_fields(info, obj) == []


def test_crd_schema_preserve_unknown_and_embedded_metadata() -> None:
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer"},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            },
        },
    }
    obj = {"metadata": {"name": "x", "nope": 1}, "spec": {"size": 1, "junk": 2, "free": {"a": {"b": 1}}}}
    from k3trio.apiserver.handlers.unknown_fields import _crd_root

    problems = find_problems(_crd_root(schema), obj)
    assert problems == ['unknown field "metadata.nope"', 'unknown field "spec.junk"']
    assert obj["spec"]["free"] == {"a": {"b": 1}}


def test_problems_come_in_document_order_with_full_paths() -> None:
    info = BUILTIN.get("apps", "v1", "deployments")
    body = b'{"spec":{"unknownField":"foo","replicas":1,"replicas":2,"template":{"spec":{"containers":[{"x":1,"x":2}]}}}}'
    obj, dups = decode_json(body)
    assert unknown_fields(info, obj, dups) == [
        'unknown field "spec.unknownField"',
        'duplicate field "spec.replicas"',
        'unknown field "spec.template.spec.containers[0].x"',
        'duplicate field "spec.template.spec.containers[0].x"',
    ]


def test_duplicates_inside_preserved_fields_are_found() -> None:
    obj, dups = decode_json(b'{"spec":{"foo":"bar","foo":"baz","deep":{"a":1,"a":2}}}')
    assert find_problems({"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}, obj, dups) == [
        'duplicate field "spec.foo"',
        'duplicate field "spec.deep.a"',
    ]
