"""The garbage collector's graph (pure) and background collection over the fake API."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from k3trio.client.resource import Resource
from k3trio.controllers.garbagecollector import GarbageCollector
from k3trio.controllers.gc_graph import Graph, Work

from .conftest import Harness, rs_obj

RS = Resource("apps", "v1", "replicasets", "ReplicaSet", True, verbs=("list", "watch", "delete"))
PODS = Resource("", "v1", "pods", "Pod", True, verbs=("list", "watch", "delete"))
CMS = Resource("", "v1", "configmaps", "ConfigMap", True, verbs=("list", "watch", "delete"))


class StaticDiscovery:
    def __init__(self, resources: list[Resource]) -> None:
        self._r = resources

    async def resources(self, *, refresh: bool = False) -> list[Resource]:
        await trio.lowlevel.checkpoint()
        return self._r


def obj(kind: str, name: str, uid: str, owners: list[dict[str, Any]] | None = None,
        **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind,
            "metadata": {"name": name, "namespace": "default", "uid": uid,
                         "ownerReferences": owners or [], **meta}}


def ref(uid: str, block: bool = True) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": f"o-{uid}", "uid": uid,
            "blockOwnerDeletion": block}


def test_graph_links_and_work() -> None:
    g = Graph()
    assert g.observe(obj("ConfigMap", "child", "c1", [ref("p1")])) == [Work("delete", "c1")]
    assert g.get("p1").virtual  # type: ignore[union-attr]
    assert g.observe(obj("ConfigMap", "o-p1", "p1")) == []
    assert not g.get("p1").virtual  # type: ignore[union-attr]
    assert g.get("p1").dependents == {"c1"}  # type: ignore[union-attr]
    # foreground deletion of the owner: the owner and its dependents are looked at
    work = g.observe(obj("ConfigMap", "o-p1", "p1", finalizers=["foregroundDeletion"],
                         deletionTimestamp="2026-01-01T00:00:00Z"))
    assert set(work) == {Work("delete", "p1"), Work("delete", "c1")}
    assert [n.identity.uid for n in g.blocking_dependents("p1")] == ["c1"]
    # the dependent goes away: the owner is looked at again
    assert g.forget(obj("ConfigMap", "child", "c1")) == [Work("delete", "p1")]
    assert g.forget(obj("ConfigMap", "o-p1", "p1")) == []
    assert len(g) == 0
    # orphaning
    g.observe(obj("ConfigMap", "o-p2", "p2"))
    g.observe(obj("ConfigMap", "kid", "k2", [ref("p2")]))
    work = g.observe(obj("ConfigMap", "o-p2", "p2", finalizers=["orphan"],
                         deletionTimestamp="2026-01-01T00:00:00Z"))
    assert Work("orphan", "p2") in work
    assert g.forget(obj("ConfigMap", "o-p2", "p2")) == [Work("delete", "k2")]
    assert g.get("p2").virtual  # type: ignore[union-attr]


async def test_background_collection(harness: Harness,
                                     autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    h.api.discovery = StaticDiscovery([RS, PODS, CMS])  # type: ignore[attr-defined]
    rs = h.api.put("replicasets", {**rs_obj("web", 1), "apiVersion": "apps/v1"})
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
             "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    h.api.put("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "web-1", "namespace": "default", "ownerReferences": [owner]}})
    h.api.put("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "orphan", "namespace": "default", "ownerReferences": [
            {**owner, "uid": "gone", "name": "old"}]}})
    h.api.put("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "two-owners", "namespace": "default", "ownerReferences": [
            owner, {**owner, "uid": "gone2", "name": "older"}]}})
    await h.start(GarbageCollector)
    await h.settle(1)
    assert [p["metadata"]["name"] for p in h.api.all("pods")] == ["web-1"]
    cm = h.api.obj("configmaps", "default", "two-owners")
    assert [r["uid"] for r in cm["metadata"]["ownerReferences"]] == [rs["metadata"]["uid"]]
    await h.api.delete(RS, "web", namespace="default")
    await h.settle(1)
    assert h.api.all("pods") == [] and h.api.all("configmaps") == []
