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
        'duplicate field "replicas"',
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
