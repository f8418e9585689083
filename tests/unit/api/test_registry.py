"""The registry of kinds agrees with the upstream swagger and resolves names like kubectl."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from k3trio.api.openapi_data import openapi_v2_document
from k3trio.api.registry import BUILTIN, GroupVersion, UnknownResource, resources_from_crd

_ACTION_VERBS = {
    "post": {"create"},
    "put": {"update"},
    "patch": {"patch"},
    "get": {"get"},
    "list": {"list"},
    "watch": {"watch"},
    "watchlist": {"watch"},
    "delete": {"delete"},
    "deletecollection": {"deletecollection"},
}
_PATH = re.compile(
    r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))(?P<watch>/watch)?"
    r"(?:/namespaces/\{namespace\})?/(?P<r>[a-z0-9]+)(?:/\{name\})?(?:/(?P<sub>[a-z]+))?(?:/\{path\})?$"
)


def _swagger_operations() -> dict[tuple[str, str, str, str], set[str]]:
    """(group, version, resource, subresource) -> discovery verbs, from the served paths."""
    doc = openapi_v2_document([(gv.group, gv.version) for gv in BUILTIN.group_versions()])
    out: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for path, item in doc["paths"].items():
        m = _PATH.match(path)
        if not m:
            continue
        group, version = (m["g"] or ""), (m["v"] or m["cv"])
        resource, sub = m["r"], m["sub"] or ""
        if path.startswith("/api/v1/namespaces/{name}/"):
            resource, sub = "namespaces", path.rsplit("/", 1)[1]
        for method, op in item.items():
            if method == "parameters":
                continue
            action = op["x-kubernetes-action"]
            if action == "connect":
                verbs = {"create", "get"} if sub in ("exec", "attach", "portforward") else {
                    "create", "delete", "get", "patch", "update"
                }
            else:
                verbs = _ACTION_VERBS[action]
            out[(group, version, resource, sub)] |= verbs
    return out


def test_verbs_and_subresources_match_swagger() -> None:
    ops = _swagger_operations()
    mine: dict[tuple[str, str, str, str], set[str]] = {}
    for info in BUILTIN.resources:
        mine[(info.group, info.version, info.resource, "")] = set(info.verbs)
        for sub in info.subresources:
            mine[(info.group, info.version, info.resource, sub.name)] = set(sub.verbs)
    assert mine == dict(ops)


def test_kinds_match_swagger_definitions() -> None:
    doc = openapi_v2_document()
    gvks = {
        (gvk["group"], gvk["version"], gvk["kind"])
        for d in doc["definitions"].values()
        for gvk in d.get("x-kubernetes-group-version-kind", [])
    }
    for info in BUILTIN.resources:
        assert (info.group, info.version, info.kind) in gvks
        for sub in info.subresources:
            if not sub.kind.endswith("Options"):  # connect option kinds have no definition
                assert (sub.group, sub.version, sub.kind) in gvks, (info.resource, sub.name)


def test_discovery_order_and_preferred_versions() -> None:
    gvs = [str(gv) for gv in BUILTIN.group_versions()]
    assert gvs[:4] == ["v1", "apiregistration.k8s.io/v1", "apps/v1", "events.k8s.io/v1"]
    assert gvs.index("autoscaling/v2") + 1 == gvs.index("autoscaling/v1")
    assert BUILTIN.preferred_version("autoscaling") == "v2"
    assert BUILTIN.preferred_version("nope") is None
    for alpha in ("resource.k8s.io/v1beta1", "storagemigration.k8s.io/v1beta1"):
        assert alpha not in gvs


def test_short_names_and_categories() -> None:
    all_cat = {i.resource for i in BUILTIN.in_category("all")}
    assert all_cat == {
        "pods", "replicationcontrollers", "services", "daemonsets", "deployments",
        "replicasets", "statefulsets", "horizontalpodautoscalers", "cronjobs", "jobs",
    }  # fmt: skip
    assert BUILTIN.get("apps", "v1", "deployments").short_names == ("deploy",)
    assert BUILTIN.get("", "v1", "pods").singular == "pod"


@pytest.mark.parametrize(
    ("typed", "api_version", "resource"),
    [
        ("po", "v1", "pods"),
        ("pod", "v1", "pods"),
        ("Pod", "v1", "pods"),
        ("deploy", "apps/v1", "deployments"),
        ("deployments.apps", "apps/v1", "deployments"),
        ("hpa", "autoscaling/v2", "horizontalpodautoscalers"),
        ("hpa.v1.autoscaling", "autoscaling/v1", "horizontalpodautoscalers"),
        ("ev", "v1", "events"),
        ("events.events.k8s.io", "events.k8s.io/v1", "events"),
        ("ing.networking", "networking.k8s.io/v1", "ingresses"),
        ("crds", "apiextensions.k8s.io/v1", "customresourcedefinitions"),
    ],
)
def test_resolve(typed: str, api_version: str, resource: str) -> None:
    best = BUILTIN.resolve(typed)[0]
    assert (best.api_version, best.resource) == (api_version, resource)


def test_resolve_unknown() -> None:
    with pytest.raises(UnknownResource, match='the server doesn\'t have a resource type "nope"'):
        BUILTIN.resolve("nope")


def test_lookups_by_kind() -> None:
    assert BUILTIN.for_api_version_kind("apps/v1", "Deployment").resource == "deployments"
    assert BUILTIN.for_kind("", "v1", "Deployment") is None
    assert [i.api_version for i in BUILTIN.kinds_named("Event")] == ["v1", "events.k8s.io/v1"]
    assert GroupVersion.parse("apps/v1") == GroupVersion("apps", "v1")
    assert str(GroupVersion.parse("v1")) == "v1"


def test_storage_keys() -> None:
    get = BUILTIN.get
    assert get("apps", "v1", "deployments").storage_key("ns", "web") == "/registry/deployments/ns/web"
    assert get("", "v1", "services").storage_key("default", "k") == "/registry/services/specs/default/k"
    assert get("", "v1", "endpoints").storage_list_prefix("a") == "/registry/services/endpoints/a/"
    assert get("", "v1", "nodes").storage_key("", "n1") == "/registry/minions/n1"
    assert get("", "v1", "namespaces").storage_key("", "kube-system") == "/registry/namespaces/kube-system"
    assert get("", "v1", "pods").storage_list_prefix() == "/registry/pods/"
    # Versions and groups that share storage share keys.
    hpa1, hpa2 = get("autoscaling", "v1", "horizontalpodautoscalers"), get("autoscaling", "v2", "horizontalpodautoscalers")
    assert hpa1.storage_key("a", "b") == hpa2.storage_key("a", "b")
    assert hpa1.storage_version == "autoscaling/v2"
    assert get("events.k8s.io", "v1", "events").storage_key("a", "b") == get("", "v1", "events").storage_key("a", "b")
    assert not get("authorization.k8s.io", "v1", "subjectaccessreviews").stored
    with pytest.raises(ValueError):
        get("", "v1", "bindings").storage_key("a", "b")


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"],
                  "categories": ["all"]},
        "versions": [
            {"name": "v1beta1", "served": True, "storage": False},
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}, "scale": {}}},
            {"name": "v1alpha1", "served": False, "storage": False},
        ],
    },
}


def test_crd_registration_returns_new_snapshot() -> None:
    reg = BUILTIN.with_crd(CRD)
    assert reg.generation == BUILTIN.generation + 1
    assert BUILTIN.get("example.com", "v1", "widgets") is None
    info = reg.get("example.com", "v1", "widgets")
    assert info is not None and info.custom
    assert info.storage_key("ns", "w") == "/registry/example.com/widgets/ns/w"
    assert info.storage_version == "example.com/v1"
    assert [s.name for s in info.subresources] == ["scale", "status"]
    assert reg.preferred_version("example.com") == "v1"
    assert [str(gv) for gv in reg.group_versions()][-2:] == ["example.com/v1", "example.com/v1beta1"]
    assert reg.resolve("wd")[0].version == "v1"
    assert "widgets" in {i.resource for i in reg.in_category("all")}
    assert reg.get("example.com", "v1alpha1", "widgets") is None
    gone = reg.without("example.com", "widgets")
    assert gone.get("example.com", "v1", "widgets") is None
    assert gone.preferred_version("example.com") is None
    infos, order = resources_from_crd(CRD)
    assert order == ["v1", "v1beta1"] and len(infos) == 2


def test_duplicate_resources_rejected() -> None:
    info = BUILTIN.get("", "v1", "pods")
    with pytest.raises(ValueError, match="duplicate"):
        type(BUILTIN).build([info, info])
