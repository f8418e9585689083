"""CRD controller decisions (names) and the CRD strategy (stored versions, cleanup finalizer)."""

from __future__ import annotations

from typing import Any

from k3trio.api.registry import BUILTIN
from k3trio.apiserver.crd_controller import accepted_names, names_conflict
from k3trio.apiserver.storage.strategy import CRD_CLEANUP_FINALIZER, strategy_for


def _crd(name: str, plural: str, kind: str, short: tuple[str, ...] = (), accepted: bool = False) -> dict[str, Any]:
    names = {"plural": plural, "kind": kind, "shortNames": list(short)}
    crd: dict[str, Any] = {
        "metadata": {"name": f"{name}.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced", "names": names,
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }
    if accepted:
        crd["status"] = {"acceptedNames": accepted_names(crd)}
    return crd


BUILTINS = {(i.group, i.resource) for i in BUILTIN.resources}


def test_accepted_names_default_singular_and_list_kind() -> None:
    names = accepted_names(_crd("widgets", "widgets", "Widget"))
    assert names["singular"] == "widget" and names["listKind"] == "WidgetList"


def test_conflicting_names_are_refused() -> None:
    first = _crd("widgets", "widgets", "Widget", ("wd",), accepted=True)
    second = _crd("gadgets", "gadgets", "Gadget", ("wd",))
    assert names_conflict(second, [first, second], BUILTINS) == '"wd" is already in use'
    third = _crd("things", "things", "Widget")
    third["spec"]["names"]["singular"] = "thing"
    assert names_conflict(third, [first], BUILTINS) == '"Widget" is already in use'
    assert names_conflict(_crd("ok", "oks", "Ok"), [first], BUILTINS) == ""


def test_crd_strategy_stored_versions_and_cleanup_finalizer() -> None:
    info = BUILTIN.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    strategy = strategy_for(info)
    crd = _crd("widgets", "widgets", "Widget")
    strategy.prepare_for_create(crd)
    assert crd["status"] == {"storedVersions": ["v1"]}
    assert strategy.prepare_for_delete(crd, "2026-01-01T00:00:00Z")
    assert crd["metadata"]["finalizers"] == [CRD_CLEANUP_FINALIZER]
    cond = crd["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Terminating", "True", "InstanceDeletionPending")
