"""Server-side apply and managedFields, against kube-apiserver's observable behaviour."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from k3trio.api.errors import APIError
from k3trio.api.ssa import LAST_APPLIED, FieldManager

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:01:00Z"
T2 = "2026-01-01T00:02:00Z"
T3 = "2026-01-01T00:03:00Z"

CSA = "kubectl-client-side-apply"


def deployment(replicas: int | None = 1, image: str = "nginx:1.25", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": image}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    spec.update(extra)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": spec,
    }


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["metadata"].get("managedFields", []))


def entry(obj: dict[str, Any], manager: str, operation: str | None = None) -> dict[str, Any]:
    found = [
        e for e in entries(obj) if e.get("manager") == manager and (operation is None or e["operation"] == operation)
    ]
    assert len(found) == 1, entries(obj)
    return found[0]


def managers(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["manager"], e["operation"]) for e in entries(obj)]


@pytest.fixture
def fm() -> FieldManager:
    return FieldManager()


# -- update / create ---------------------------------------------------------------------------


def test_create_owns_every_set_field_with_upstream_shape(fm: FieldManager) -> None:
    obj = deployment()
    obj["metadata"]["labels"] = {"app": "web"}
    obj["metadata"]["uid"] = "u-1"
    obj["metadata"]["creationTimestamp"] = T0
    obj["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}]
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {}
    obj["status"] = {}
    before = copy.deepcopy(obj)
    out = fm.update(None, obj, manager="kubectl-create", now=T0)
    assert obj == before, "input must not be mutated"
    assert out["metadata"]["managedFields"] == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
                    "f:template": {
                        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"nginx"}': {
                                    ".": {},
                                    "f:image": {},
                                    "f:name": {},
                                    "f:ports": {
                                        ".": {},
                                        'k:{"containerPort":80,"protocol":"TCP"}': {
                                            ".": {},
                                            "f:containerPort": {},
                                            "f:protocol": {},
                                        },
                                    },
                                    "f:resources": {},
                                }
                            }
                        },
                    },
                },
            },
        }
    ]
    # The key order of the serialised entry and of fieldsV1 is upstream's.
    text = json.dumps(out["metadata"]["managedFields"][0], separators=(",", ":"))
    assert text.startswith('{"manager":"kubectl-create","operation":"Update","apiVersion":"apps/v1","time"')
    assert '"f:rollingUpdate":{".":{},"f:maxSurge"' in text


def test_update_moves_changed_fields_and_keeps_time_of_untouched_entries(fm: FieldManager) -> None:
    live = fm.update(None, deployment(), manager="creator", now=T0)
    new = copy.deepcopy(live)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    out = fm.update(live, new, manager="kubectl-edit", now=T1)
    assert managers(out) == [("creator", "Update"), ("kubectl-edit", "Update")]
    edit = entry(out, "kubectl-edit")
    assert edit["time"] == T1
    assert edit["fieldsV1"] == {
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"nginx"}': {"f:image": {}}}}}}
    }
    creator = entry(out, "creator")
    assert creator["time"] == T0
    assert "f:image" not in json.dumps(creator["fieldsV1"])

    # A no-op update by a third manager records nothing and leaves entries untouched.
    same = fm.update(out, copy.deepcopy(out), manager="noop", now=T2)
    assert same["metadata"]["managedFields"] == out["metadata"]["managedFields"]
    assert same["metadata"]["managedFields"][0] is out["metadata"]["managedFields"][0]


def test_update_removing_a_field_takes_it_from_its_owner(fm: FieldManager) -> None:
    obj = deployment()
    obj["metadata"]["labels"] = {"app": "web", "tier": "front"}
    live = fm.update(None, obj, manager="creator", now=T0)
    new = copy.deepcopy(live)
    del new["metadata"]["labels"]["tier"]
    out = fm.update(live, new, manager="editor", now=T1)
    assert managers(out) == [("creator", "Update")]
    assert entry(out, "creator")["fieldsV1"]["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}


def test_update_entry_per_manager_operation_version_subresource(fm: FieldManager) -> None:
    live = fm.update(None, deployment(), manager="m", now=T0)
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 2
    out = fm.update(live, new, manager="m", now=T1)
    assert managers(out) == [("m", "Update")]
    assert entry(out, "m")["time"] == T1

    status = copy.deepcopy(out)
    status["status"] = {"replicas": 2, "readyReplicas": 2}
    out2 = fm.update(out, status, manager="m", subresource="status", now=T2)
    assert [(e["manager"], e.get("subresource", "")) for e in entries(out2)] == [("m", ""), ("m", "status")]
    sub = entries(out2)[1]
    assert sub["fieldsV1"] == {"f:status": {"f:readyReplicas": {}, "f:replicas": {}}}
    assert list(sub)[-1] == "subresource"


def test_status_is_ignored_on_main_resource_and_spec_on_status(fm: FieldManager) -> None:
    obj = deployment()
    obj["status"] = {"replicas": 5}
    out = fm.update(None, obj, manager="creator", now=T0)
    assert "f:status" not in json.dumps(entries(out))

    new = copy.deepcopy(out)
    new["spec"]["replicas"] = 9
    new["status"] = {"replicas": 1}
    out2 = fm.update(out, new, manager="controller", subresource="status", now=T1)
    ctrl = entry(out2, "controller")
    assert ctrl["fieldsV1"] == {"f:status": {"f:replicas": {}}}
    assert ctrl["subresource"] == "status"


def test_client_sent_managed_fields_are_honoured_and_empty_list_resets(fm: FieldManager) -> None:
    live = fm.update(None, deployment(), manager="creator", now=T0)
    sent = copy.deepcopy(live)
    sent["metadata"]["managedFields"] = [
        {
            "manager": "someone",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    ]
    out = fm.update(live, sent, manager="editor", now=T1)
    assert managers(out) == [("someone", "Update")]

    reset = copy.deepcopy(live)
    reset["metadata"]["managedFields"] = []
    assert "managedFields" not in fm.update(live, reset, manager="editor", now=T1)["metadata"]
    reset["metadata"]["managedFields"] = [{}]
    assert "managedFields" not in fm.update(live, reset, manager="editor", now=T1)["metadata"]

    # Invalid or missing lists fall back to the live object's.
    bad = copy.deepcopy(live)
    bad["metadata"]["managedFields"] = [{"manager": "x", "operation": "Bogus"}]
    assert managers(fm.update(live, bad, manager="editor", now=T1)) == [("creator", "Update")]
    missing = copy.deepcopy(live)
    del missing["metadata"]["managedFields"]
    assert managers(fm.update(live, missing, manager="editor", now=T1)) == [("creator", "Update")]


def test_subresource_writes_ignore_client_managed_fields(fm: FieldManager) -> None:
    live = fm.update(None, deployment(), manager="creator", now=T0)
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    new["status"] = {"replicas": 1}
    out = fm.update(live, new, manager="ctrl", subresource="status", now=T1)
    assert managers(out) == [("creator", "Update"), ("ctrl", "Update")]


def test_update_managers_are_capped_into_ancient_changes(fm: FieldManager) -> None:
    obj = fm.update(None, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, manager="c", now=T0)
    for i in range(12):
        new = copy.deepcopy(obj)
        new.setdefault("data", {})[f"k{i}"] = "v"
        obj = fm.update(obj, new, manager=f"m{i:02d}", now=f"2026-01-01T00:{i + 1:02d}:00Z")
    names = [e["manager"] for e in entries(obj)]
    assert len(names) == 10
    assert names[0] == "ancient-changes"
    assert entries(obj)[0]["fieldsV1"] == {"f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}}}
    assert entries(obj)[0]["time"] == "2026-01-01T00:03:00Z"
    assert names[1:] == [f"m{i:02d}" for i in range(3, 12)]


# -- apply -------------------------------------------------------------------------------------


def csa_live(fm: FieldManager, replicas: int = 1) -> dict[str, Any]:
    """A Deployment created by ``kubectl apply`` (client-side)."""
    obj = deployment(replicas)
    config = copy.deepcopy(obj)
    obj["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(config, sort_keys=True) + "\n"}
    return fm.update(None, obj, manager=CSA, now=T0)


def test_server_side_apply_after_client_side_apply_conflicts_on_replicas(fm: FieldManager) -> None:
    live = csa_live(fm)
    with pytest.raises(APIError) as info:
        fm.apply(live, deployment(3), manager="ssa-tool", force=False, now=T1)
    err = info.value
    assert err.code == 409
    status = err.to_status()
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )
    # kubectl prints "error: " + the message.
    assert "error: " + status["message"] == (
        'error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )
    assert status["details"] == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
                "field": ".spec.replicas",
            }
        ]
    }


def test_force_conflicts_transfers_ownership(fm: FieldManager) -> None:
    live = csa_live(fm)
    out = fm.apply(live, deployment(3), manager="ssa-tool", force=True, now=T1)
    assert out["spec"]["replicas"] == 3
    assert managers(out) == [("ssa-tool", "Apply"), (CSA, "Update")]
    assert "f:replicas" in entry(out, "ssa-tool")["fieldsV1"]["f:spec"]
    assert "f:replicas" not in entry(out, CSA)["fieldsV1"]["f:spec"]
    # Shared fields with equal values stay owned by both.
    assert "f:selector" in entry(out, CSA)["fieldsV1"]["f:spec"]
    assert entry(out, CSA)["time"] == T0


def test_kubectl_upgrade_from_client_side_apply_is_allowed_by_last_applied(fm: FieldManager) -> None:
    live = csa_live(fm)
    out = fm.apply(live, deployment(3), manager="kubectl", force=False, now=T1)
    assert out["spec"]["replicas"] == 3
    annotation = json.loads(out["metadata"]["annotations"][LAST_APPLIED])
    assert annotation["spec"]["replicas"] == 3
    assert out["metadata"]["annotations"][LAST_APPLIED].endswith("\n")

    # When the live value no longer matches last-applied, the conflict stands.
    drifted = copy.deepcopy(live)
    drifted["spec"]["replicas"] = 2
    drifted = fm.update(live, drifted, manager=CSA, now=T1)
    with pytest.raises(APIError) as info:
        fm.apply(drifted, deployment(3), manager="kubectl", force=False, now=T2)
    assert info.value.code == 409


def test_multiple_conflicts_are_enumerated_per_manager(fm: FieldManager) -> None:
    live = csa_live(fm)
    edited = copy.deepcopy(live)
    edited["metadata"]["labels"] = {"team": "a"}
    edited = fm.update(live, edited, manager="kubectl-label", now=T1)
    config = deployment(3, image="nginx:1.27")
    config["metadata"]["labels"] = {"team": "b"}
    with pytest.raises(APIError) as info:
        fm.apply(edited, config, manager="tool", force=False, now=T2)
    status = info.value.to_status()
    assert status["message"] == (
        "Apply failed with 3 conflicts: "
        'conflicts with "kubectl-client-side-apply" using apps/v1:\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image\n'
        'conflicts with "kubectl-label" using apps/v1:\n'
        "- .metadata.labels.team"
    )
    assert [c["field"] for c in status["details"]["causes"]] == [
        ".spec.replicas",
        '.spec.template.spec.containers[name="nginx"].image',
        ".metadata.labels.team",
    ]


def test_two_appliers_share_fields_with_equal_values(fm: FieldManager) -> None:
    out = fm.apply(None, deployment(2), manager="a", force=False, now=T0, api_version="apps/v1", kind="Deployment")
    out = fm.apply(out, deployment(2), manager="b", force=False, now=T1)
    assert managers(out) == [("a", "Apply"), ("b", "Apply")]
    assert entry(out, "a")["fieldsV1"] == entry(out, "b")["fieldsV1"]
    # b changing a shared field conflicts with a, and the conflict names an applier plainly.
    with pytest.raises(APIError) as info:
        fm.apply(out, deployment(5), manager="b", force=False, now=T2)
    assert info.value.message == 'Apply failed with 1 conflict: conflict with "a": .spec.replicas'


def test_field_no_longer_applied_is_removed_unless_someone_else_owns_it(fm: FieldManager) -> None:
    config = deployment(2)
    config["metadata"]["labels"] = {"app": "web", "extra": "yes"}
    out = fm.apply(None, config, manager="a", force=False, now=T0)
    assert out["metadata"]["labels"] == {"app": "web", "extra": "yes"}

    # Dropping "extra" and replicas removes them: nobody else owns them.
    config2 = deployment(None)
    config2["metadata"]["labels"] = {"app": "web"}
    out2 = fm.apply(out, config2, manager="a", force=False, now=T1)
    assert out2["metadata"]["labels"] == {"app": "web"}
    assert "replicas" not in out2["spec"]
    assert "f:replicas" not in entry(out2, "a")["fieldsV1"]["f:spec"]

    # A field also owned by another applier survives being dropped by one of them.
    shared = fm.apply(out, deployment(2), manager="b", force=False, now=T1)
    out3 = fm.apply(shared, config2, manager="a", force=False, now=T2)
    assert out3["spec"]["replicas"] == 2
    assert managers(out3) == [("b", "Apply"), ("a", "Apply")]  # ordered by time

    # A field an updater changed (and so owns) survives too.
    edited = copy.deepcopy(out)
    edited["spec"]["replicas"] = 4
    edited = fm.update(out, edited, manager="kubectl-scale", now=T1)
    out4 = fm.apply(edited, config2, manager="a", force=False, now=T2)
    assert out4["spec"]["replicas"] == 4


def test_associative_list_of_containers_merges_by_name(fm: FieldManager) -> None:
    live = fm.update(None, deployment(), manager="creator", now=T0)
    config = deployment(None)
    config["spec"]["template"]["spec"]["containers"] = [{"name": "sidecar", "image": "busybox"}]
    out = fm.apply(live, config, manager="sidecar-injector", force=False, now=T1)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx", "sidecar"]
    assert containers[0]["image"] == "nginx:1.25"
    assert entry(out, "sidecar-injector")["fieldsV1"]["f:spec"]["f:template"]["f:spec"] == {
        "f:containers": {'k:{"name":"sidecar"}': {".": {}, "f:image": {}, "f:name": {}}}
    }

    # Dropping the container from the configuration removes only that element.
    config2 = deployment(None)
    config2["spec"]["template"]["spec"]["containers"] = []
    out2 = fm.apply(out, config2, manager="sidecar-injector", force=False, now=T2)
    assert [c["name"] for c in out2["spec"]["template"]["spec"]["containers"]] == ["nginx"]


def test_set_lists_merge_and_prune_elements(fm: FieldManager) -> None:
    base: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["example.com/a"]}}
    live = fm.update(None, base, manager="creator", now=T0)
    assert entry(live, "creator")["fieldsV1"] == {"f:metadata": {"f:finalizers": {".": {}, 'v:"example.com/a"': {}}}}
    config: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["example.com/b"]}}
    out = fm.apply(live, config, manager="fin", force=False, now=T1)
    assert out["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]
    assert entry(out, "fin")["fieldsV1"] == {"f:metadata": {"f:finalizers": {'v:"example.com/b"': {}}}}
    config["metadata"]["finalizers"] = []
    out2 = fm.apply(out, config, manager="fin", force=False, now=T2)
    assert out2["metadata"]["finalizers"] == ["example.com/a"]


def test_atomic_lists_are_replaced_whole(fm: FieldManager) -> None:
    config = deployment()
    config["spec"]["template"]["spec"]["containers"][0]["args"] = ["a", "b"]
    out = fm.apply(None, config, manager="a", force=False, now=T0)
    config["spec"]["template"]["spec"]["containers"][0]["args"] = ["c"]
    out2 = fm.apply(out, config, manager="a", force=False, now=T1)
    assert out2["spec"]["template"]["spec"]["containers"][0]["args"] == ["c"]
    fields = entry(out2, "a")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert fields['k:{"name":"nginx"}']["f:args"] == {}


def test_status_apply_is_a_separate_entry(fm: FieldManager) -> None:
    live = fm.apply(None, deployment(), manager="user", force=False, now=T0)
    status_config = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "status": {"replicas": 1},
    }
    out = fm.apply(live, status_config, manager="ctrl", force=False, subresource="status", now=T1)
    assert out["status"] == {"replicas": 1}
    assert out["spec"] == live["spec"], "an empty spec in a status apply removes nothing"
    ctrl = entry(out, "ctrl")
    assert ctrl["subresource"] == "status"
    assert ctrl["fieldsV1"] == {"f:status": {"f:replicas": {}}}
    assert managers(out) == [("user", "Apply"), ("ctrl", "Apply")]


def test_apply_create_and_noop_keep_times(fm: FieldManager) -> None:
    out = fm.apply(None, deployment(), manager="a", force=False, now=T0)
    assert out["spec"]["replicas"] == 1
    assert entry(out, "a")["time"] == T0
    again = fm.apply(out, deployment(), manager="a", force=False, now=T1)
    assert again == out


def test_apply_to_object_without_managed_fields_records_before_first_apply(fm: FieldManager) -> None:
    live = deployment(4)
    with pytest.raises(APIError) as info:
        fm.apply(live, deployment(2), manager="tool", force=False, now=T1)
    assert info.value.message == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas'
    )
    out = fm.apply(live, deployment(4), manager="tool", force=False, now=T1)
    assert managers(out) == [("tool", "Apply"), ("before-first-apply", "Update")]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.update(kind="StatefulSet"), "invalid object type: apps/v1, Kind=StatefulSet"),
        (lambda o: o.update(apiVersion="apps/v1beta2"), "invalid object type: apps/v1beta2, Kind=Deployment"),
        (lambda o: o.pop("apiVersion"), "invalid object type: /, Kind=Deployment"),
        (lambda o: o["metadata"].update(managedFields=[]), "metadata.managedFields must be nil"),
    ],
)
def test_apply_rejects_bad_configurations(fm: FieldManager, mutate: Any, message: str) -> None:
    live = fm.update(None, deployment(), manager="creator", now=T0)
    config = deployment()
    mutate(config)
    with pytest.raises(APIError) as info:
        fm.apply(live, config, manager="a", force=False, now=T1)
    assert info.value.code == 400
    assert info.value.reason == "BadRequest"
    assert info.value.message == message


def test_apply_rejects_duplicate_keys_and_wrong_shapes(fm: FieldManager) -> None:
    config = deployment()
    config["spec"]["template"]["spec"]["containers"].append({"name": "nginx", "image": "x"})
    with pytest.raises(APIError) as info:
        fm.apply(None, config, manager="a", force=False, now=T0)
    assert info.value.code == 500
    assert info.value.message == (
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): "
        '.spec.template.spec.containers: duplicate entries for key [name="nginx"]'
    )
    config = deployment()
    config["spec"]["template"] = "oops"
    with pytest.raises(APIError) as info:
        fm.apply(None, config, manager="a", force=False, now=T0)
    assert info.value.message.endswith(".spec.template: expected map, got scalar")


def test_custom_resources_use_the_crd_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer"},
                    "ports": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}},
                    },
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            }
        },
    }
    fm = FieldManager(schema_for=lambda g, v, k: schema if (g, k) == ("example.com", "Widget") else None)
    cr = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {"size": 1, "ports": [{"name": "http", "port": 80}], "tags": ["x"]},
    }
    out = fm.update(None, cr, manager="creator", now=T0)
    assert entry(out, "creator")["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
        "f:spec": {
            ".": {},
            "f:ports": {".": {}, 'k:{"name":"http"}': {".": {}, "f:name": {}, "f:port": {}}},
            "f:size": {},
            "f:tags": {},
        },
    }
    # Unknown schema: maps granular, lists atomic.
    other = {"apiVersion": "other.io/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"list": [1, 2]}}
    out2 = fm.update(None, other, manager="creator", now=T0)
    assert entry(out2, "creator")["fieldsV1"] == {"f:spec": {".": {}, "f:list": {}}}


def test_update_of_a_deployment_is_fast(fm: FieldManager) -> None:
    obj = deployment(3)
    obj["metadata"].update(labels={"app": "web"}, annotations={"a": "b"})
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container.update(
        ports=[{"containerPort": 80, "protocol": "TCP"}],
        env=[{"name": f"E{i}", "value": str(i)} for i in range(5)],
        resources={"limits": {"cpu": "1"}, "requests": {"cpu": "100m"}},
        livenessProbe={"httpGet": {"path": "/", "port": 80}},
    )
    live = fm.update(None, obj, manager="kubectl-create", now=T0)
    live = fm.apply(live, deployment(3), manager="kubectl", force=True, now=T1)
    new = copy.deepcopy(live)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    rounds = 300
    started = time.process_time()
    for _ in range(rounds):
        fm.update(live, new, manager="kubectl-edit", now=T2)
    per_call = (time.process_time() - started) / rounds
    assert per_call < 0.001, f"{per_call * 1e6:.0f} µs per update"
