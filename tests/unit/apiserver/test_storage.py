"""Generic storage and the watch cache over the in-memory store."""

import collections

import pytest
import trio

from k3trio.api.errors import AlreadyExists, Conflict, Forbidden, Gone, NotFound
from k3trio.api.registry import BUILTIN
from k3trio.apiserver.factory import StorageSet
from k3trio.apiserver.storage.context import Plugins, RequestContext
from k3trio.store import open_backend


@pytest.fixture
async def storages(tmp_path, nursery):
    async with open_backend("memory://", tmp_path) as store:
        s = StorageSet(store, Plugins())
        await nursery.start(s.run)
        ns = s.storage(BUILTIN.get("", "v1", "namespaces"))
        await ns.create("", {"metadata": {"name": "default"}}, RequestContext())
        yield s


def cm(name, **labels):
    return {"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


async def test_create_get_update_conflict(storages):
    cms = storages.storage(BUILTIN.get("", "v1", "configmaps"))
    ctx = RequestContext()
    created = await cms.create("default", cm("a"), ctx)
    assert created.metadata["uid"] and created.metadata["resourceVersion"] == str(created.rv)
    with pytest.raises(AlreadyExists, match='configmaps "a" already exists'):
        await cms.create("default", cm("a"), ctx)
    with pytest.raises(NotFound, match='namespaces "nope" not found'):
        await cms.create("nope", cm("a"), ctx)

    def stale(old):
        old["data"] = {"k": "w"}
        old["metadata"]["resourceVersion"] = "1"
        return old

    with pytest.raises(Conflict, match="the object has been modified"):
        await cms.update("default", "a", stale, ctx)

    def fresh(old):
        old["data"] = {"k": "w"}
        return old

    updated, created_now = await cms.update("default", "a", fresh, ctx)
    assert not created_now and updated.rv > created.rv
    assert (await cms.get("default", "a")).obj["data"] == {"k": "w"}


async def test_generation_and_status_separation(storages):
    deps = storages.storage(BUILTIN.get("apps", "v1", "deployments"))
    ctx = RequestContext()
    body = {
        "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"replicas": 5},
    }
    d = await deps.create("default", body, ctx)
    assert d.metadata["generation"] == 1 and d.obj["status"] == {}

    def scale(old):
        old["spec"]["replicas"] = 4
        old["status"] = {"replicas": 9}
        return old

    d2, _ = await deps.update("default", "d", scale, ctx)
    assert d2.metadata["generation"] == 2 and d2.obj["status"] == {}

    def status(old):
        old["status"] = {"replicas": 3}
        old["spec"]["replicas"] = 100
        return old

    d3, _ = await deps.update("default", "d", status, ctx, subresource="status")
    assert d3.obj["status"] == {"replicas": 3} and d3.obj["spec"]["replicas"] == 4
    assert d3.metadata["generation"] == 2


async def test_finalizers_and_namespace_termination(storages):
    cms = storages.storage(BUILTIN.get("", "v1", "configmaps"))
    ctx = RequestContext()
    body = cm("f")
    body["metadata"]["finalizers"] = ["example.com/x"]
    await cms.create("default", body, ctx)
    obj, deleted = await cms.delete("default", "f", {}, ctx)
    assert not deleted and obj.metadata["deletionTimestamp"]

    def drop(old):
        old["metadata"]["finalizers"] = []
        return old

    await cms.update("default", "f", drop, ctx)
    with pytest.raises(NotFound):
        await cms.get("default", "f")

    ns = storages.storage(BUILTIN.get("", "v1", "namespaces"))
    await ns.create("", {"metadata": {"name": "gone"}}, ctx)
    obj, deleted = await ns.delete("", "gone", {}, ctx)
    assert not deleted and obj.obj["status"]["phase"] == "Terminating"
    with pytest.raises(Forbidden, match="because it is being terminated"):
        await cms.create("gone", cm("x"), ctx)


async def test_paging_and_compaction(storages):
    cms = storages.storage(BUILTIN.get("", "v1", "configmaps"))
    ctx = RequestContext()
    for i in range(5):
        await cms.create("default", cm(f"c{i}"), ctx)
    page = await cms.list("default", limit=2)
    assert [o.name for o in page.items] == ["c0", "c1"] and page.remaining == 3
    page2 = await cms.list("default", limit=2, continue_token=page.continue_token)
    assert [o.name for o in page2.items] == ["c2", "c3"]
    await cms.create("default", cm("c5"), ctx)
    await storages.store.compact(storages.store.current_revision)
    with pytest.raises(Gone, match="continue parameter is too old"):
        await cms.list("default", limit=2, continue_token=page2.continue_token)


async def test_watch_cache_selectors_and_resume(storages):
    cms = storages.storage(BUILTIN.get("", "v1", "configmaps"))
    cache = cms.cache
    ctx = RequestContext()
    first = await cms.create("default", cm("w", app="x"), ctx)
    await trio.testing.wait_all_tasks_blocked()
    watcher, initial = cache.watch(resource_version=first.rv, match=lambda o: o.labels.get("app") == "x")
    assert initial == []

    def relabel(value):
        def fn(old):
            old["metadata"]["labels"] = {"app": value}
            return old
        return fn

    await cms.update("default", "w", relabel("y"), ctx)
    await cms.update("default", "w", relabel("x"), ctx)
    await trio.testing.wait_all_tasks_blocked()
    types = []
    while True:
        try:
            types.append(watcher.receive.receive_nowait().type)
        except trio.WouldBlock:
            break
    assert types == ["DELETED", "ADDED"]
    # Resuming from the first revision replays both changes.
    _, replay = cache.watch(resource_version=first.rv)
    assert [e.type for e in replay] == ["MODIFIED", "MODIFIED"]
    # With a one-event ring buffer, the first revision can no longer be replayed.
    cache.history = collections.deque(cache.history, maxlen=1)
    with pytest.raises(Gone, match=f"too old resource version: {first.rv} \\({cache.history[0].rv}\\)"):
        cache.watch(resource_version=first.rv)


async def test_slow_watcher_is_closed(storages):
    cms = storages.storage(BUILTIN.get("", "v1", "configmaps"))
    cache = cms.cache
    cache.watcher_buffer = 2
    watcher, _ = cache.watch(resource_version=cache.revision or None)
    fast, _ = cache.watch(resource_version=None)
    ctx = RequestContext()
    for i in range(4):
        await cms.create("default", cm(f"s{i}"), ctx)
    await trio.testing.wait_all_tasks_blocked()
    assert watcher.closed and watcher.overflowed


async def test_status_writes_take_metadata_where_upstream_does(storages):
    ctx = RequestContext()
    svcs = storages.storage(BUILTIN.get("", "v1", "services"))
    created = await svcs.create("default", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}, ctx)
    assert created.obj["status"] == {"loadBalancer": {}}

    def status(old):
        old["metadata"].setdefault("annotations", {})["patchedstatus"] = "true"
        old["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}}
        old["spec"]["ports"][0]["port"] = 81
        return old

    s2, _ = await svcs.update("default", "s", status, ctx, subresource="status")
    assert s2.metadata["annotations"] == {"patchedstatus": "true"}
    assert s2.obj["spec"]["ports"][0]["port"] == 80

    deps = storages.storage(BUILTIN.get("apps", "v1", "deployments"))
    body = {
        "metadata": {"name": "d", "labels": {"a": "b"}},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }
    await deps.create("default", body, ctx)

    def relabel(old):
        old["metadata"]["labels"] = {"x": "y"}
        old["metadata"]["annotations"] = {"n": "1"}
        return old

    d2, _ = await deps.update("default", "d", relabel, ctx, subresource="status")
    assert d2.metadata["labels"] == {"a": "b"} and d2.metadata["annotations"] == {"n": "1"}


async def test_csr_approval_changes_only_conditions_and_stamps_times(storages):
    csrs = storages.storage(BUILTIN.get("certificates.k8s.io", "v1", "certificatesigningrequests"))
    ctx = RequestContext()
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    req = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])).sign(key, hashes.SHA256())
    pem = base64.b64encode(req.public_bytes(serialization.Encoding.PEM)).decode()
    await csrs.create("", {"metadata": {"name": "c"}, "spec": {
        "request": pem, "signerName": "example.com/x", "usages": ["digital signature"]}}, ctx)

    def approve(old):
        old["spec"]["signerName"] = "example.com/other"
        old["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "R", "message": "m"}]}
        return old

    approved, _ = await csrs.update("", "c", approve, ctx, subresource="approval")
    cond = approved.obj["status"]["conditions"][0]
    assert cond["lastUpdateTime"] and cond["lastTransitionTime"]
    assert approved.obj["spec"]["signerName"] == "example.com/x"

    def status(old):
        old["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "R", "message": "m"}]}
        return old

    after, _ = await csrs.update("", "c", status, ctx, subresource="status")
    assert [c["type"] for c in after.obj["status"]["conditions"]] == ["Approved", "Failed"]


async def test_cache_on_decode_redoes_cached_objects(storages):
    cms = storages.storage(BUILTIN.get("", "v1", "configmaps"))
    await cms.create("default", cm("dflt"), RequestContext())
    cache = storages.cache(BUILTIN.get("", "v1", "configmaps"))
    with trio.fail_after(5):
        while cache.peek(cms.key("default", "dflt")) is None:
            await trio.sleep(0.01)

    def hook(obj):
        obj.setdefault("data", {}).setdefault("added", "yes")

    cache.set_on_decode(hook)
    try:
        assert (await cms.get("default", "dflt")).obj["data"] == {"k": "v", "added": "yes"}
        await cms.create("default", cm("dflt2"), RequestContext())
        with trio.fail_after(5):
            while cache.peek(cms.key("default", "dflt2")) is None:
                await trio.sleep(0.01)
        assert cache.peek(cms.key("default", "dflt2")).obj["data"]["added"] == "yes"
    finally:
        cache.on_decode = None
