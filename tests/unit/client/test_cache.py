"""Indexer and lister behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from k3trio.client.cache import (
    NODE_NAME_INDEX,
    OWNER_UID_INDEX,
    DeletedFinalStateUnknown,
    Indexer,
    Lister,
    index_by_node_name,
    index_by_owner_uid,
    object_key,
    split_key,
)


def pod(name: str, ns: str = "default", node: str | None = None, owner: str | None = None,
        rv: str = "1", labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "resourceVersion": rv,
                            "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "kind": "ReplicaSet", "name": "rs"}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}}


def test_keys() -> None:
    assert object_key(pod("a", "ns")) == "ns/a"
    assert object_key({"metadata": {"name": "node1"}}) == "node1"
    assert split_key("ns/a") == ("ns", "a")
    assert split_key("node1") == ("", "node1")


def test_indexes_follow_updates_and_deletes() -> None:
    idx = Indexer({NODE_NAME_INDEX: index_by_node_name, OWNER_UID_INDEX: index_by_owner_uid})
    idx.upsert(pod("a", node="n1", owner="u1"))
    idx.upsert(pod("b", node="n1"))
    idx.upsert(pod("c", ns="other", node="n2", owner="u1"))
    assert idx.index_keys(NODE_NAME_INDEX, "n1") == ["default/a", "default/b"]
    assert idx.index_keys(OWNER_UID_INDEX, "u1") == ["default/a", "other/c"]
    idx.upsert(pod("a", node="n2", rv="2"))  # moved and orphaned
    assert idx.index_keys(NODE_NAME_INDEX, "n1") == ["default/b"]
    assert idx.index_keys(NODE_NAME_INDEX, "n2") == ["default/a", "other/c"]
    assert idx.index_keys(OWNER_UID_INDEX, "u1") == ["other/c"]
    idx.delete("other/c")
    assert idx.index_values(OWNER_UID_INDEX) == []
    assert idx.index_keys("namespace", "other") == []
    with pytest.raises(KeyError):
        idx.index_keys("nope", "x")


def test_custom_indexer_added_later_indexes_existing() -> None:
    idx = Indexer()
    idx.upsert(pod("a", labels={"app": "web"}))
    idx.add_indexers({"app": lambda o: [o["metadata"]["labels"].get("app", "")]})
    assert idx.index_keys("app", "web") == ["default/a"]


def test_replace_reports_deltas_with_tombstones() -> None:
    idx = Indexer()
    idx.upsert(pod("keep", rv="1"))
    idx.upsert(pod("change", rv="1"))
    idx.upsert(pod("gone", rv="1"))
    deltas = idx.replace([pod("keep", rv="1"), pod("change", rv="5"), pod("new", rv="6")])
    kinds = {(d.type, d.key) for d in deltas}
    assert kinds == {("deleted", "default/gone"), ("updated", "default/change"),
                     ("added", "default/new")}
    tomb = next(d.old for d in deltas if d.type == "deleted")
    assert isinstance(tomb, DeletedFinalStateUnknown)
    assert tomb.obj["metadata"]["name"] == "gone"
    assert sorted(idx.keys()) == ["default/change", "default/keep", "default/new"]


def test_lister() -> None:
    idx = Indexer()
    idx.upsert(pod("a", labels={"app": "web", "tier": "fe"}))
    idx.upsert(pod("b", labels={"app": "db"}))
    idx.upsert(pod("c", ns="x", labels={"app": "web"}))
    idx.upsert({"metadata": {"name": "node1"}})
    lister = Lister(idx)
    assert lister.get("a", "default") is not None
    assert lister.get("node1") is not None
    assert lister.get("a", "x") is None
    assert len(lister.list()) == 4
    assert [o["metadata"]["name"] for o in lister.list("default")] == ["a", "b"]
    assert sorted(o["metadata"]["name"] for o in lister.list(selector="app=web")) == ["a", "c"]
    assert [o["metadata"]["name"] for o in lister.list("default", {"app": "web"})] == ["a"]
    assert [o["metadata"]["name"] for o in lister.list(selector="app in (db),!tier")] == ["b"]
