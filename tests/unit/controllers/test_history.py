"""ControllerRevision helpers and ``History`` writes over the fake API."""

from __future__ import annotations

import copy

import trio

from k3trio.client import SharedInformerFactory
from k3trio.controllers import history as hi

from .fakeapi import FakeClient

OWNER = {"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": {"name": "db", "namespace": "default", "uid": "u1"},
         "spec": {"template": {"metadata": {"labels": {"app": "db"}},
                               "spec": {"containers": [{"name": "c", "image": "db:1"}]}}}}


def test_data_hash_name_and_apply() -> None:
    data = hi.revision_data(OWNER)
    assert data["spec"]["template"]["$patch"] == "replace"
    assert hi.canonical(data) == hi.canonical(copy.deepcopy(data))
    h0, h1 = hi.hash_revision(data, 0), hi.hash_revision(data, 1)
    assert h0 != h1 and set(h0) <= set(hi.SAFE_ALPHABET)
    rev = hi.new_revision(OWNER, data, 4, 0)
    assert rev["metadata"]["name"] == f"db-{h0}" and rev["revision"] == 4
    assert rev["metadata"]["labels"] == {"app": "db", hi.HASH_LABEL: h0}
    assert rev["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert hi.revision_name("x" * 300, "h") == "x" * 223 + "-h"
    changed = copy.deepcopy(OWNER)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "db:2"
    back = hi.apply_revision(changed, rev)
    assert back["spec"]["template"] == OWNER["spec"]["template"]
    other = hi.new_revision(changed, hi.revision_data(changed), 5, 0)
    assert hi.find_equal_revisions([other, rev], hi.new_revision(OWNER, data, 9, 3)) == [rev]
    assert hi.next_revision([rev, other]) == 6 and hi.next_revision([]) == 1
    a = {**rev, "metadata": {**rev["metadata"], "creationTimestamp": "2026-01-02T00:00:00Z"}}
    b = {**other, "revision": 4,
         "metadata": {**other["metadata"], "creationTimestamp": "2026-01-01T00:00:00Z"}}
    assert hi.sort_revisions([a, b]) == [b, a]


async def test_create_bumps_collision_count_on_clash(autojump_clock: trio.testing.MockClock,
                                                     ) -> None:
    api = FakeClient()
    factory = SharedInformerFactory(api)  # type: ignore[arg-type]
    lister = factory.informer(hi.CONTROLLERREVISIONS).lister
    history = hi.History(api, lister)  # type: ignore[arg-type]
    data = hi.revision_data(OWNER)
    rev = hi.new_revision(OWNER, data, 1, 0)
    # a foreign revision already holds the name with other data
    squatter = copy.deepcopy(rev)
    squatter["data"] = {"spec": {"template": {"$patch": "replace"}}}
    api.put("controllerrevisions", squatter)
    count = [0]
    created = await history.create(rev, count)
    assert count == [1]
    assert created["metadata"]["name"] == f"db-{hi.hash_revision(data, 1)}"
    # creating it again returns the existing equal revision without another bump
    again = await history.create(hi.new_revision(OWNER, data, 1, 1), count)
    assert again["metadata"]["uid"] == created["metadata"]["uid"] and count == [1]
    renumbered = await history.update_number(created, 7)
    assert renumbered["revision"] == 7
    await history.delete(renumbered)
    await history.delete(renumbered)  # already gone: no error
    assert [r["metadata"]["name"] for r in api.all("controllerrevisions")] == \
        [squatter["metadata"]["name"]]
