"""JSON patch, merge patch and strategic merge patch, against upstream behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3trio.api.patch import (
    BadPatch,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    create_merge_patch,
    schema_for_kind,
)

POD = schema_for_kind("", "v1", "Pod")


# -- JSON patch -------------------------------------------------------------------------------


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2, 3]}, "x/y": 1, "t~": 2}
    out = apply_json_patch(
        doc,
        [
            {"op": "add", "path": "/a/b/1", "value": 9},
            {"op": "add", "path": "/a/b/-", "value": 4},
            {"op": "remove", "path": "/a/b/0"},
            {"op": "replace", "path": "/x~1y", "value": "r"},
            {"op": "copy", "from": "/a/b", "path": "/c"},
            {"op": "move", "from": "/t~0", "path": "/m"},
            {"op": "test", "path": "/m", "value": 2},
            {"op": "add", "path": "/a/b/-1", "value": 7},
        ],
    )
    assert out == {"a": {"b": [9, 2, 3, 7, 4]}, "x/y": "r", "c": [9, 2, 3, 4], "m": 2}
    assert doc == {"a": {"b": [1, 2, 3]}, "x/y": 1, "t~": 2}


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ({"op": "test", "path": "/a", "value": 2}, "testing value /a failed: test failed"),
        ({"op": "test", "path": "/a", "value": True}, "testing value /a failed: test failed"),
        ({"op": "replace", "path": "/zz", "value": 1},
         "replace operation does not apply: doc is missing key: /zz: missing value"),
        ({"op": "add", "path": "/q/r", "value": 1},
         'add operation does not apply: doc is missing path: "/q/r": missing value'),
        ({"op": "remove", "path": "/zz"},
         "error in remove for path: '/zz': Unable to remove nonexistent key: zz: missing value"),
        ({"op": "add", "path": "/l/5", "value": 1},
         "error in add for path: '/l/5': Unable to access invalid index: 5: invalid index referenced"),
        ({"op": "frob", "path": "/a"}, "Unexpected kind: frob"),
        ({"op": "add", "path": "", "value": 1},
         'add operation does not apply: doc is missing path: "": missing value'),
    ],
)
def test_json_patch_errors(op: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError) as info:
        apply_json_patch({"a": 1, "l": [0]}, [op])
    assert str(info.value) == message
    assert info.value.code == 422


def test_json_patch_must_be_a_list() -> None:
    with pytest.raises(BadPatch) as info:
        apply_json_patch({}, {"op": "add"})
    assert info.value.code == 400


def test_json_patch_test_null_for_missing() -> None:
    assert apply_json_patch({"a": 1}, [{"op": "test", "path": "/b", "value": None}]) == {"a": 1}


# -- merge patch ------------------------------------------------------------------------------


def test_merge_patch_rfc7386_examples() -> None:
    doc = {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
           "tags": ["example", "sample"], "content": "This will be unchanged"}
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890",
             "author": {"familyName": None}, "tags": ["example"]}
    assert apply_merge_patch(doc, patch) == {
        "title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
        "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890",
    }
    assert apply_merge_patch({"a": 1}, {"b": {"c": None, "d": 1}}) == {"a": 1, "b": {"d": 1}}
    with pytest.raises(BadPatch, match="Invalid JSON Patch"):
        apply_merge_patch({"a": 1}, None)


json_scalars = st.one_of(st.booleans(), st.integers(-5, 5), st.text(max_size=3))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=10,
)
json_docs = st.dictionaries(st.text(max_size=2), json_values, max_size=4)
patches = st.dictionaries(st.text(max_size=2), st.one_of(st.none(), json_values), max_size=4)


@given(json_docs, json_docs)
def test_merge_patch_diff_round_trip(original: dict[str, Any], modified: dict[str, Any]) -> None:
    assert apply_merge_patch(original, create_merge_patch(original, modified)) == modified


@given(json_docs, patches)
def test_merge_patch_is_idempotent(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    once = apply_merge_patch(doc, patch)
    assert apply_merge_patch(once, patch) == once


@given(json_docs)
def test_merge_patch_empty_is_identity(doc: dict[str, Any]) -> None:
    assert apply_merge_patch(doc, {}) == doc


# -- strategic merge patch --------------------------------------------------------------------


def _pod() -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
        "spec": {
            "containers": [
                {"name": "a", "image": "i1", "ports": [{"containerPort": 80, "name": "http"}],
                 "env": [{"name": "A", "value": "1"}]},
                {"name": "b", "image": "i2"},
            ],
            "tolerations": [{"key": "k"}],
            "volumes": [{"name": "v", "emptyDir": {}}],
        },
    }


def smp(patch: dict[str, Any], original: dict[str, Any] | None = None) -> dict[str, Any]:
    return apply_strategic_merge_patch(original or _pod(), patch, POD)


def test_containers_merge_by_name_and_nulls_delete() -> None:
    out = smp({
        "metadata": {"labels": {"a": None, "c": "3"}},
        "spec": {"containers": [{"name": "a", "image": "new", "env": [{"name": "B", "value": "2"}]}]},
    })
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    a, b = out["spec"]["containers"]
    assert a["image"] == "new" and a["ports"] == [{"containerPort": 80, "name": "http"}]
    assert [e["name"] for e in a["env"]] == ["B", "A"]
    assert b == {"name": "b", "image": "i2"}


def test_new_elements_and_ports_by_container_port() -> None:
    out = smp({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 443}]}, {"name": "c", "image": "i3"}]}})
    names = [c["name"] for c in out["spec"]["containers"]]
    # Upstream's interleaving: a server-only item goes before a patch item only when both are
    # in the live list and it comes first there; "c" is new, so it precedes "b".
    assert names == ["a", "c", "b"]
    assert out["spec"]["containers"][0]["ports"] == [{"containerPort": 443}, {"containerPort": 80, "name": "http"}]


def test_atomic_lists_are_replaced() -> None:
    assert smp({"spec": {"tolerations": [{"key": "z"}]}})["spec"]["tolerations"] == [{"key": "z"}]


def test_primitive_merge_list_and_delete_from_primitive_list() -> None:
    assert smp({"metadata": {"finalizers": ["y", "x"]}})["metadata"]["finalizers"] == ["y", "x"]
    out = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}})
    assert out["metadata"]["finalizers"] == []


def test_patch_directives() -> None:
    out = smp({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["b"]
    out = smp({"spec": {"containers": [{"name": "z"}, {"$patch": "replace"}]}})
    assert out["spec"]["containers"] == [{"name": "z"}]
    out = smp({"metadata": {"labels": {"$patch": "replace", "only": "this"}}})
    assert out["metadata"]["labels"] == {"only": "this"}
    out = smp({"metadata": {"labels": {"$patch": "delete"}}})
    assert out["metadata"]["labels"] == {}
    with pytest.raises(BadPatch, match="unknown patch type: bogus"):
        smp({"metadata": {"labels": {"$patch": "bogus"}}})


def test_set_element_order() -> None:
    out = smp({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["b", "a"]
    out = smp({"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
        "containers": [{"name": "c", "image": "i3"}],
    }})
    assert [c["name"] for c in out["spec"]["containers"]] == ["c", "a", "b"]
    with pytest.raises(BadPatch, match="doesn't match"):
        smp({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "q"}]}})


def test_retain_keys_clears_other_volume_sources() -> None:
    out = smp({"spec": {"volumes": [{"name": "v", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]}})
    assert out["spec"]["volumes"] == [{"name": "v", "hostPath": {"path": "/x"}}]
    with pytest.raises(BadPatch, match="invalid patch format of retainKeys"):
        smp({"spec": {"volumes": [{"name": "v", "$retainKeys": ["name"], "hostPath": {}}]}})


def test_missing_merge_key_is_an_error() -> None:
    with pytest.raises(PatchError) as info:
        smp({"spec": {"containers": [{"image": "x"}]}})
    assert "does not contain declared merge key: name" in str(info.value)
    assert info.value.code == 500


def test_type_change_replaces_and_inputs_are_untouched() -> None:
    original = _pod()
    patch = {"spec": {"containers": "oops"}, "extra": {"k": None, "v": 1}}
    out = apply_strategic_merge_patch(original, patch, POD)
    assert out["spec"]["containers"] == "oops"
    assert out["extra"] == {"v": 1}
    assert original == _pod()
    assert patch == {"spec": {"containers": "oops"}, "extra": {"k": None, "v": 1}}


def test_non_object_patch_is_bad_request() -> None:
    with pytest.raises(BadPatch) as info:
        apply_strategic_merge_patch({}, [1], POD)
    assert info.value.code == 400


def test_deployment_template_merges_through_nested_types() -> None:
    deploy = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}}}
    out = apply_strategic_merge_patch(
        deploy, {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}},
        schema_for_kind("apps", "v1", "Deployment"),
    )
    assert out["spec"]["template"]["spec"]["containers"] == [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]


def test_without_schema_lists_replace() -> None:
    out = apply_strategic_merge_patch({"l": [1, 2], "m": {"a": 1}}, {"l": [3], "m": {"b": 2}}, None)
    assert out == {"l": [3], "m": {"a": 1, "b": 2}}


@given(json_docs, patches)
def test_smp_without_lists_agrees_with_merge_patch(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    # With no schema and no directives, strategic merge equals JSON merge patch.
    clean = {k: v for k, v in patch.items() if not k.startswith("$")}
    def has_dollar(v: Any) -> bool:
        if isinstance(v, dict):
            return any(k.startswith("$") or has_dollar(x) for k, x in v.items())
        if isinstance(v, list):
            return any(has_dollar(x) for x in v)
        return False
    if has_dollar(clean):
        return
    assert apply_strategic_merge_patch(doc, clean, None) == apply_merge_patch(doc, clean)
