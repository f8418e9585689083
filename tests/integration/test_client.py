"""The client against a real ``k3trio server``: verbs, typed errors, watch, informers,
leader election and events over HTTPS with client certificates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio

from k3trio.client import (
    CONFIGMAPS,
    EVENTS,
    LEASES,
    NAMESPACES,
    AlreadyExists,
    ApiLeaseLock,
    Client,
    ClientConfig,
    Conflict,
    DeletedFinalStateUnknown,
    Expired,
    EventRecorder,
    Forbidden,
    Invalid,
    LeaderElectionConfig,
    NotFound,
    Resource,
    ResourceListWatch,
    ResourceNotFound,
    SharedInformer,
    SharedInformerFactory,
    Unauthorized,
    UnsupportedMediaType,
    WatchEvent,
    run_when_leader,
)

from ._server import ServerProcess
from .conftest import unique


def cm(name: str, ns: str = "default", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": {"suite": "client"}},
            "data": dict(data)}


def config(server: ServerProcess, component: str = "test") -> ClientConfig:
    return ClientConfig.from_kubeconfig(server.kubeconfig, component=component)


async def test_crud_and_typed_errors(api_server: ServerProcess) -> None:
    name = unique("crud")
    async with Client(config(api_server)) as c:
        created = await c.create(CONFIGMAPS, cm(name, a="1"))
        assert created["metadata"]["uid"]
        with pytest.raises(AlreadyExists):
            await c.create(CONFIGMAPS, cm(name))
        got = await c.get(CONFIGMAPS, name)  # the kubeconfig's default namespace
        assert got["data"] == {"a": "1"}
        updated = await c.update(CONFIGMAPS, {**got, "data": {"a": "2"}})
        with pytest.raises(Conflict):
            await c.update(CONFIGMAPS, {**got, "data": {"a": "3"}})  # stale resourceVersion
        assert updated["data"] == {"a": "2"}
        merged = await c.patch(CONFIGMAPS, name, {"data": {"b": "x"}}, namespace="default")
        assert merged["data"] == {"a": "2", "b": "x"}
        jsonp = await c.patch(CONFIGMAPS, name, [{"op": "remove", "path": "/data/b"}],
                              patch_type="json", namespace="default")
        assert jsonp["data"] == {"a": "2"}
        strategic = await c.patch(CONFIGMAPS, name, {"metadata": {"labels": {"s": "y"}}},
                                  patch_type="strategic", namespace="default")
        assert strategic["metadata"]["labels"] == {"suite": "client", "s": "y"}
        dry = await c.patch(CONFIGMAPS, name, {"data": {"dry": "1"}}, dry_run=True,
                            namespace="default")
        assert "dry" in dry["data"]
        assert "dry" not in (await c.get(CONFIGMAPS, name))["data"]
        with pytest.raises(Invalid) as invalid:
            await c.create(CONFIGMAPS, cm("Not_Valid"))
        assert invalid.value.causes and invalid.value.causes[0]["field"] == "metadata.name"
        with pytest.raises(Conflict):
            await c.delete(CONFIGMAPS, name, namespace="default", uid="not-the-uid")
        await c.delete(CONFIGMAPS, name, namespace="default", uid=created["metadata"]["uid"])
        with pytest.raises(NotFound) as nf:
            await c.get(CONFIGMAPS, name)
        assert nf.value.message == f'configmaps "{name}" not found'


async def test_server_side_apply(api_server: ServerProcess) -> None:
    name = unique("ssa")
    async with Client(config(api_server)) as c:
        try:
            first = await c.apply(CONFIGMAPS, cm(name, a="1"), field_manager="mgr-a")
        except UnsupportedMediaType:
            pytest.skip("the server does not accept apply patches yet")
        assert first["data"] == {"a": "1"}
        with pytest.raises(Conflict):
            await c.apply(CONFIGMAPS, cm(name, a="2"), field_manager="mgr-b")
        forced = await c.apply(CONFIGMAPS, cm(name, a="2"), field_manager="mgr-b", force=True)
        assert forced["data"] == {"a": "2"}
        managers = {m["manager"] for m in forced["metadata"]["managedFields"]}
        assert "mgr-b" in managers


async def test_http2_and_user_agent(api_server: ServerProcess) -> None:
    async with Client(config(api_server, "probe")) as c:
        response = await c.request("GET", "/version")
        assert response.http_version == "HTTP/1.1"  # the default
        assert response.json()["gitVersion"].startswith("v1.36")
    async with Client(config(api_server, "probe").evolve(http2=True)) as c:
        response = await c.request("GET", "/version")
        assert response.http_version == "HTTP/2"
        assert response.json()["gitVersion"].startswith("v1.36")


async def test_discovery(api_server: ServerProcess) -> None:
    async with Client(config(api_server)) as c:
        assert (await c.discovery.find("cm")).kind == "ConfigMap"
        deploy = await c.discovery.find("deploy")
        assert (deploy.group, deploy.namespaced, "scale" in deploy.subresources) == (
            "apps", True, True)
        lease = await c.discovery.for_kind("coordination.k8s.io/v1", "Lease")
        assert lease.resource == "leases"
        ns = await c.discovery.find("ns")
        assert ns.namespaced is False
        # A discovered handle addresses the same objects as the static one.
        assert (await c.get(ns, "kube-system"))["metadata"]["name"] == "kube-system"


async def test_pagination_and_selectors(api_server: ServerProcess) -> None:
    label = unique("page")
    async with Client(config(api_server)) as c:
        for i in range(7):
            obj = cm(f"{label}-{i}")
            obj["metadata"]["labels"]["page"] = label
            await c.create(CONFIGMAPS, obj)
        pages = [p async for p in c.list_pages(CONFIGMAPS, label_selector=f"page={label}",
                                                limit=3)]
        assert [len(p["items"]) for p in pages] == [3, 3, 1]
        items, rv = await c.list_all(CONFIGMAPS, namespace="default",
                                     label_selector=f"page={label}", limit=2)
        assert len(items) == 7 and int(rv) > 0
        one = await c.list(CONFIGMAPS, field_selector=f"metadata.name={label}-3",
                           namespace="default")
        assert [i["metadata"]["name"] for i in one["items"]] == [f"{label}-3"]
        table = await c.list(CONFIGMAPS, namespace="default", label_selector=f"page={label}",
                             as_table=True)
        assert table["kind"] == "Table" and len(table["rows"]) == 7
        deleted = await c.delete_collection(CONFIGMAPS, namespace="default",
                                            label_selector=f"page={label}")
        assert len(deleted.get("items", [])) == 7
        assert (await c.list(CONFIGMAPS, label_selector=f"page={label}"))["items"] == []


async def test_watch_events(api_server: ServerProcess) -> None:
    name = unique("watch")
    async with Client(config(api_server)) as c:
        start = await c.list(CONFIGMAPS, namespace="default", limit=1)
        rv = start["metadata"]["resourceVersion"]
        seen: list[tuple[str, str]] = []
        with trio.fail_after(10):
            async with c.watch(CONFIGMAPS, namespace="default", resource_version=rv,
                               name=name) as events:
                await c.create(CONFIGMAPS, cm(name))
                await c.patch(CONFIGMAPS, name, {"data": {"x": "1"}}, namespace="default")
                await c.delete(CONFIGMAPS, name, namespace="default")
                async for ev in events:
                    if ev.type != "BOOKMARK":
                        seen.append((ev.type, ev.object["metadata"]["name"]))
                    if ev.type == "DELETED":
                        break
        assert seen == [("ADDED", name), ("MODIFIED", name), ("DELETED", name)]


async def test_watch_as_table(api_server: ServerProcess) -> None:
    name = unique("wtable")
    async with Client(config(api_server)) as c:
        rv = (await c.list(CONFIGMAPS, namespace="default", limit=1))["metadata"][
            "resourceVersion"]
        with trio.fail_after(10):
            async with c.watch(CONFIGMAPS, namespace="default", resource_version=rv, name=name,
                               as_table=True) as events:
                await c.create(CONFIGMAPS, cm(name, k="v"))
                async for ev in events:
                    if ev.type == "ADDED":
                        break
        assert ev.object["kind"] == "Table"
        assert [col["name"] for col in ev.object["columnDefinitions"]][:2] == ["Name", "Data"]
        assert ev.object["rows"][0]["cells"][:2] == [name, 1]


async def test_identities(api_server: ServerProcess) -> None:
    base = config(api_server)
    tls = api_server.data_dir / "server" / "tls"
    scheduler = ClientConfig.from_pems(
        base.server, ca_pem=base.ca_pem,
        client_cert_pem=(tls / "client-scheduler.crt").read_bytes(),
        client_key_pem=(tls / "client-scheduler.key").read_bytes(), component="scheduler")
    async with Client(scheduler) as c:
        with pytest.raises(Forbidden):
            await c.delete(NAMESPACES, "default")
    async with Client(ClientConfig(server=base.server, ca_pem=base.ca_pem)) as anonymous:
        with pytest.raises((Unauthorized, Forbidden)):
            await anonymous.list(CONFIGMAPS)


async def test_informer_sees_create_update_delete(api_server: ServerProcess) -> None:
    label = unique("inf")
    events: list[tuple[str, str]] = []
    async with Client(config(api_server)) as c:
        factory = SharedInformerFactory(c)
        informer = factory.informer(CONFIGMAPS, namespace="default",
                                    label_selector=f"inf={label}")
        assert factory.informer(CONFIGMAPS, namespace="default",
                                label_selector=f"inf={label}") is informer
        informer.add_event_handler(
            on_add=lambda o: events.append(("add", o["metadata"]["name"])),
            on_update=lambda old, new: events.append(("update", new["data"].get("v", ""))),
            on_delete=lambda o: events.append(
                ("delete", (o.obj if isinstance(o, DeletedFinalStateUnknown) else o)
                 ["metadata"]["name"])),
        )
        obj = cm(f"{label}-a")
        obj["metadata"]["labels"]["inf"] = label
        await c.create(CONFIGMAPS, obj)
        async with trio.open_nursery() as nursery:
            await nursery.start(factory.run)
            with trio.fail_after(10):
                await factory.wait_for_cache_sync()
            assert informer.lister.get(f"{label}-a", "default") is not None
            obj2 = cm(f"{label}-b")
            obj2["metadata"]["labels"]["inf"] = label
            await c.create(CONFIGMAPS, obj2)
            await c.patch(CONFIGMAPS, f"{label}-a", {"data": {"v": "2"}}, namespace="default")
            await c.delete(CONFIGMAPS, f"{label}-a", namespace="default")
            with trio.fail_after(10):
                while len(events) < 4:
                    await trio.sleep(0.05)
            assert events == [("add", f"{label}-a"), ("add", f"{label}-b"), ("update", "2"),
                              ("delete", f"{label}-a")]
            assert [o["metadata"]["name"] for o in informer.lister.list("default")] == [
                f"{label}-b"]
            nursery.cancel_scope.cancel()


async def test_leader_election_two_electors(api_server: ServerProcess) -> None:
    lease_name = unique("lease")
    cfg = LeaderElectionConfig(lease_duration=3, renew_deadline=2, retry_period=0.2)
    leaders: list[str] = []
    async with Client(config(api_server, "elector-a")) as ca, \
            Client(config(api_server, "elector-b")) as cb:
        scopes: dict[str, trio.CancelScope] = {}

        async def candidate(name: str, client: Client) -> None:
            async def work() -> None:
                leaders.append(name)
                await trio.sleep_forever()

            with scopes.setdefault(name, trio.CancelScope()):
                await run_when_leader(ApiLeaseLock(client, lease_name), name, work, config=cfg)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(candidate, "a", ca)
            nursery.start_soon(candidate, "b", cb)
            with trio.fail_after(10):
                while not leaders:
                    await trio.sleep(0.05)
            await trio.sleep(1.0)  # several renewals: still exactly one leader
            assert len(leaders) == 1
            first = leaders[0]
            lease = await ca.get(LEASES, lease_name, namespace="kube-system")
            assert lease["spec"]["holderIdentity"] == first
            assert lease["spec"]["renewTime"].endswith("Z")
            scopes[first].cancel()  # the leader steps down and releases
            with trio.fail_after(5):
                while len(leaders) < 2:
                    await trio.sleep(0.05)
            second = leaders[1]
            assert second != first
            lease = await ca.get(LEASES, lease_name, namespace="kube-system")
            assert (lease["spec"]["holderIdentity"], lease["spec"]["leaseTransitions"]) == (
                second, 1)
            nursery.cancel_scope.cancel()


async def test_event_recorder(api_server: ServerProcess) -> None:
    name = unique("evt")
    async with Client(config(api_server)) as c:
        target = await c.create(CONFIGMAPS, cm(name))
        recorder = EventRecorder(c, "client-test", "host-1")
        async with trio.open_nursery() as nursery:
            await nursery.start(recorder.run)
            for _ in range(3):
                recorder.event(target, "Warning", "Testing", "something happened")
            with trio.fail_after(10):
                while True:
                    found = [e for e in (await c.list(EVENTS, namespace="default"))["items"]
                             if e["involvedObject"].get("name") == name]
                    if found and found[0].get("count") == 3:
                        break
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        (event,) = found
        assert event["reason"] == "Testing" and event["type"] == "Warning"
        assert event["source"] == {"component": "client-test", "host": "host-1"}
        assert event["involvedObject"]["uid"] == target["metadata"]["uid"]
        assert event["firstTimestamp"] <= event["lastTimestamp"]


CRDS = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")


async def widget_resource(c: Client, group: str) -> Resource:
    """Create a CRD; its watch cache starts at the current revision, so a watch from
    resourceVersion 1 is answered with 410 Expired, as after a compaction."""
    await c.create(CRDS, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object",
                                         "x-kubernetes-preserve-unknown-fields": True}}}]}})
    with trio.fail_after(10):
        while True:
            try:
                return await c.discovery.find(f"widgets.{group}")
            except ResourceNotFound:
                await trio.sleep(0.05)


def widget(group: str, name: str) -> dict[str, Any]:
    return {"apiVersion": f"{group}/v1", "kind": "Widget",
            "metadata": {"name": name, "namespace": "default"}}


async def test_watch_from_too_old_version_is_expired(api_server: ServerProcess) -> None:
    group = f"{unique('exp')}.example.com"
    async with Client(config(api_server)) as c:
        res = await widget_resource(c, group)
        with pytest.raises(Expired) as info:
            async with c.watch(res, resource_version="1") as events:
                async for _ in events:
                    pass
        assert info.value.message.startswith("too old resource version: 1 (")


class StaleFirstList:
    """The real list/watch, except that the first list reports resourceVersion 1 and
    returns only after ``release`` is set (the test changes objects meanwhile)."""

    def __init__(self, inner: ResourceListWatch) -> None:
        self.inner = inner
        self.lists = 0
        self.release = trio.Event()

    async def list(self) -> tuple[list[dict[str, Any]], str]:
        items, rv = await self.inner.list()
        self.lists += 1
        if self.lists == 1:
            await self.release.wait()
            return items, "1"
        return items, rv

    def watch(self, resource_version: str,
              timeout_seconds: int) -> AbstractAsyncContextManager[AsyncIterator[WatchEvent]]:
        return self.inner.watch(resource_version, timeout_seconds)


async def test_informer_relists_after_410_with_tombstones(api_server: ServerProcess) -> None:
    group = f"{unique('relist')}.example.com"
    async with Client(config(api_server)) as c:
        res = await widget_resource(c, group)
        for name in ("a", "b"):
            await c.create(res, widget(group, name))
        source = StaleFirstList(ResourceListWatch(c, res, "default"))
        informer = SharedInformer(source, name="widgets")
        deleted: list[Any] = []
        added: list[str] = []
        informer.add_event_handler(on_add=lambda o: added.append(o["metadata"]["name"]),
                                   on_delete=deleted.append)
        async with trio.open_nursery() as nursery:
            await nursery.start(informer.run)
            with trio.fail_after(10):
                while source.lists < 1:
                    await trio.sleep(0.01)
            await c.delete(res, "a", namespace="default")  # missed by the stale first list
            await c.create(res, widget(group, "c"))
            source.release.set()
            with trio.fail_after(10):
                while source.lists < 2 or len(added) < 3:
                    await trio.sleep(0.02)
            assert informer.relists == 2
            assert sorted(informer.indexer.keys()) == ["default/b", "default/c"]
            (tomb,) = deleted
            assert isinstance(tomb, DeletedFinalStateUnknown) and tomb.key == "default/a"
            # The informer keeps watching after the relist.
            await c.delete(res, "b", namespace="default")
            with trio.fail_after(10):
                while len(deleted) < 2:
                    await trio.sleep(0.02)
            assert deleted[1]["metadata"]["name"] == "b"
            nursery.cancel_scope.cancel()
