"""Scheduler cache: nodes and pods from informer events, assume/forget, orphans."""

from __future__ import annotations

from scheduler_objects import make_node, make_pod

from k3trio.scheduler.cache import SchedulerCache


def test_pods_follow_nodes_and_assume_forget() -> None:
    cache = SchedulerCache()
    early = make_pod("early", cpu="1", node="n1")
    cache.add_pod(early)  # the node is not known yet
    cache.add_node(make_node("n1", cpu="4"))
    info = cache.node("n1")
    assert info is not None and info.requested == {"cpu": 1000}
    pending = make_pod("p", cpu="2")
    assumed = cache.assume(pending, "n1")
    assert assumed["spec"]["nodeName"] == "n1" and cache.is_assumed(pending)
    assert cache.node("n1").requested["cpu"] == 3000  # type: ignore[union-attr]
    cache.forget(pending)
    assert cache.node("n1").requested["cpu"] == 1000  # type: ignore[union-attr]
    cache.assume(pending, "n1")
    cache.add_pod(assumed)  # the informer reports the binding
    assert not cache.is_assumed(pending)
    cache.forget(pending)  # no longer assumed: nothing happens
    assert cache.node("n1").requested["cpu"] == 3000  # type: ignore[union-attr]


def test_node_update_keeps_pods_and_finished_pods_leave() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n1", cpu="4"))
    pod = make_pod("a", cpu="1", node="n1")
    cache.add_pod(pod)
    cache.update_node(make_node("n1", cpu="8", labels={"x": "y"}))
    info = cache.node("n1")
    assert info is not None and info.allocatable["cpu"] == 8000 and info.requested["cpu"] == 1000
    done = make_pod("a", cpu="1", node="n1")
    done["status"]["phase"] = "Succeeded"
    cache.update_pod(done)
    assert cache.node("n1").requested["cpu"] == 0  # type: ignore[union-attr]


def test_snapshot_orders_nodes_and_survives_node_removal() -> None:
    cache = SchedulerCache()
    for name in ("b", "a", "c"):
        cache.add_node(make_node(name))
    cache.add_pod(make_pod("p", node="c", cpu="1"))
    assert [n.name for n in cache.snapshot().nodes] == ["a", "b", "c"]
    cache.remove_node("c")
    assert [n.name for n in cache.snapshot().nodes] == ["a", "b"]
    cache.add_node(make_node("c"))  # pods come back with the node
    assert cache.node("c").requested["cpu"] == 1000  # type: ignore[union-attr]
    cache.remove_pod(make_pod("p"))
    assert cache.node("c").requested["cpu"] == 0  # type: ignore[union-attr]
