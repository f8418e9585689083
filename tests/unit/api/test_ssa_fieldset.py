"""FieldsV1 set algebra, ordering and path printing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from k3trio.api.ssa.fieldset import (
    canonical,
    difference,
    intersection,
    iterate_paths,
    path_string,
    recursive_difference,
    to_json,
    union,
)

A: dict[str, Any] = {"f:spec": {"f:replicas": {}, "f:template": {".": {}, "f:x": {}}}}
B: dict[str, Any] = {"f:spec": {"f:replicas": {}, "f:paused": {}}}


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        (union, A, B, {"f:spec": {"f:replicas": {}, "f:template": {".": {}, "f:x": {}}, "f:paused": {}}}),
        (difference, A, B, {"f:spec": {"f:template": {".": {}, "f:x": {}}}}),
        (difference, A, {"f:spec": {"f:template": {}}}, {"f:spec": {"f:replicas": {}, "f:template": {"f:x": {}}}}),
        (intersection, A, B, {"f:spec": {"f:replicas": {}}}),
        (recursive_difference, A, {"f:spec": {"f:template": {}}}, {"f:spec": {"f:replicas": {}}}),
        (union, {"f:a": {}}, {"f:a": {"f:b": {}}}, {"f:a": {".": {}, "f:b": {}}}),
        (difference, {"f:a": {}}, {"f:a": {"f:b": {}}}, {"f:a": {}}),
        (intersection, {"f:a": {".": {}, "f:b": {}}}, {"f:a": {}}, {"f:a": {}}),
    ],
)
def test_algebra(op: Any, left: dict[str, Any], right: dict[str, Any], expected: dict[str, Any]) -> None:
    before = json.dumps([left, right])
    assert op(left, right) == expected
    assert json.dumps([left, right]) == before


def test_difference_returns_the_same_object_when_nothing_is_removed() -> None:
    assert difference(A, {"f:status": {}}) is A
    assert recursive_difference(A, {"f:metadata": {}}) is A


def test_serialisation_order_matches_structured_merge_diff() -> None:
    s: dict[str, Any] = {
        "i:2": {},
        'v:"ab"': {},
        "v:true": {},
        "v:3": {},
        'k:{"port":443,"protocol":"udp"}': {},
        'k:{"name":"second"}': {},
        'k:{"name":"first"}': {},
        "f:b": {"f:y": {}, ".": {}, "f:x": {}},
        "f:a": {},
        'v:"aa"': {},
        "i:1": {},
        'k:{"port":443,"protocol":"tcp"}': {},
    }
    assert json.dumps(to_json(s), separators=(",", ":")) == (
        '{"f:a":{},"f:b":{".":{},"f:x":{},"f:y":{}},'
        '"k:{\\"name\\":\\"first\\"}":{},"k:{\\"name\\":\\"second\\"}":{},'
        '"k:{\\"port\\":443,\\"protocol\\":\\"tcp\\"}":{},"k:{\\"port\\":443,\\"protocol\\":\\"udp\\"}":{},'
        '"v:3":{},"v:\\"aa\\"":{},"v:\\"ab\\"":{},"v:true":{},"i:1":{},"i:2":{}}'
    )


def test_canonical_normalises_client_path_elements() -> None:
    raw: dict[str, Any] = {"f:spec": {'k:{"protocol":"TCP", "port":80}': {"f:port": {}}, "x:unknown": {}}}
    assert canonical(raw) == {"f:spec": {'k:{"port":80,"protocol":"TCP"}': {"f:port": {}}}}
    with pytest.raises(ValueError):
        canonical(["not", "a", "set"])


def test_paths_print_as_upstream() -> None:
    s: dict[str, Any] = {
        "f:spec": {
            "f:replicas": {},
            "f:template": {
                "f:spec": {
                    "f:containers": {'k:{"name":"nginx"}': {"f:image": {}}},
                    "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {}},
                }
            },
        },
        "f:metadata": {"f:finalizers": {'v:"a/b"': {}}, "f:x": {"i:0": {}}},
    }
    assert [path_string(p) for p in iterate_paths(s)] == [
        '.metadata.finalizers[="a/b"]',
        ".metadata.x[0]",
        ".spec.replicas",
        '.spec.template.spec.containers[name="nginx"].image',
        '.spec.template.spec.ports[containerPort=80,protocol="TCP"]',
    ]
