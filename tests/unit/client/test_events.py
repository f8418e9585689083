"""Event correlation (spam filter, aggregation, de-dup) and the recorder's write path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import trio
import trio.testing

from k3trio.client.api import Client
from k3trio.client.config import ClientConfig
from k3trio.client.events import COMBINED_PREFIX, EventCorrelator, EventRecorder, object_reference

POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "resourceVersion": "3"}}


def recorder(client: Client | None = None) -> EventRecorder:
    client = client or Client(ClientConfig(server="https://x"),
                              transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    return EventRecorder(client, "kubelet", "node1",
                         wall_clock=lambda: datetime(2026, 11, 24, 21, 0, tzinfo=UTC))


def test_object_reference_and_event_shape() -> None:
    assert object_reference(POD) == {"kind": "Pod", "namespace": "ns", "name": "web", "uid": "u1",
                                     "apiVersion": "v1", "resourceVersion": "3"}
    ev = recorder().make_event(POD, "Warning", "BackOff", "Back-off restarting")
    assert ev["metadata"]["name"].startswith("web.")
    assert ev["metadata"]["namespace"] == "ns"
    assert ev["source"] == {"component": "kubelet", "host": "node1"}
    assert (ev["firstTimestamp"], ev["lastTimestamp"], ev["count"]) == (
        "2026-11-24T21:00:00Z", "2026-11-24T21:00:00Z", 1)
    assert (ev["reportingComponent"], ev["reportingInstance"]) == ("kubelet", "node1")
    node_ev = recorder().make_event({"kind": "Node", "metadata": {"name": "n"}}, "Normal", "R", "m")
    assert node_ev["metadata"]["namespace"] == "default"


async def test_dedup_patches_count(autojump_clock: trio.testing.MockClock) -> None:
    rec = recorder()
    c = EventCorrelator()
    first = c.correlate(rec.make_event(POD, "Normal", "Pulled", "pulled image"))
    assert first.action == "create"
    c.written(first, first.event)
    second = c.correlate(rec.make_event(POD, "Normal", "Pulled", "pulled image"))
    assert second.action == "patch"
    assert second.patch == {"count": 2, "lastTimestamp": "2026-11-24T21:00:00Z",
                            "message": "pulled image"}
    assert second.event["metadata"]["name"] == first.event["metadata"]["name"]
    c.written(second, second.event)
    assert c.correlate(rec.make_event(POD, "Normal", "Pulled", "pulled image")).patch["count"] == 3  # type: ignore[index]
    await trio.sleep(601)  # outside the window: a fresh event
    assert c.correlate(rec.make_event(POD, "Normal", "Pulled", "pulled image")).action == "create"


async def test_aggregation_of_similar_events(autojump_clock: trio.testing.MockClock) -> None:
    rec = recorder()
    c = EventCorrelator()
    outcomes = []
    for i in range(12):
        o = c.correlate(rec.make_event(POD, "Warning", "Failed", f"attempt {i}"))
        if o.action != "skip":
            c.written(o, o.event)
        outcomes.append(o)
    assert [o.action for o in outcomes[:9]] == ["create"] * 9
    assert outcomes[9].action == "create"
    assert outcomes[9].event["message"] == COMBINED_PREFIX + "attempt 9"
    assert outcomes[10].action == "patch" and outcomes[11].action == "patch"
    assert outcomes[11].patch == {"count": 3, "lastTimestamp": "2026-11-24T21:00:00Z",
                                  "message": COMBINED_PREFIX + "attempt 11"}


async def test_spam_filter(autojump_clock: trio.testing.MockClock) -> None:
    rec = recorder()
    c = EventCorrelator()
    actions = [c.correlate(rec.make_event(POD, "Normal", "R", "same")).action for _ in range(30)]
    assert actions.count("skip") == 5
    other = {**POD, "metadata": {**POD["metadata"], "name": "db", "uid": "u2"}}
    assert c.correlate(rec.make_event(other, "Normal", "R", "m")).action == "create"
    await trio.sleep(300)  # one token refilled
    assert c.correlate(rec.make_event(POD, "Normal", "R", "same")).action != "skip"
    assert c.correlate(rec.make_event(POD, "Normal", "R", "same")).action == "skip"


async def test_recorder_writes_creates_patches_and_recreates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stored: dict[str, dict[str, Any]] = {}
    calls: list[tuple[str, str]] = []
    flaky = [True]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path))
        if flaky[0]:
            flaky[0] = False
            return httpx.Response(503, json={"kind": "Status", "code": 503,
                                             "reason": "ServiceUnavailable"})
        if request.method == "POST":
            ev = json.loads(request.content)
            stored[ev["metadata"]["name"]] = ev
            return httpx.Response(201, json=ev)
        name = request.url.path.rsplit("/", 1)[1]
        if name not in stored:
            return httpx.Response(404, json={"kind": "Status", "code": 404, "reason": "NotFound"})
        assert request.headers["content-type"] == "application/strategic-merge-patch+json"
        stored[name].update(json.loads(request.content))
        return httpx.Response(200, json=stored[name])

    client = Client(ClientConfig(server="https://x"), transport=httpx.MockTransport(handler))
    rec = recorder(client)
    async with trio.open_nursery() as nursery:
        await nursery.start(rec.run)
        rec.event(POD, "Normal", "Started", "started container")
        rec.event(POD, "Normal", "Started", "started container")
        await trio.sleep(5)
        (name,) = stored
        assert stored[name]["count"] == 2
        stored.clear()  # the event was deleted (TTL): the next one is created again
        rec.eventf(POD, "Normal", "Started", "started %s", "container")
        await trio.sleep(5)
        assert stored[name]["count"] == 3
        nursery.cancel_scope.cancel()
    assert calls[0] == calls[1] == ("POST", "/api/v1/namespaces/ns/events")  # retried after 503
    assert [m for m, _ in calls[2:]] == ["PATCH", "PATCH", "POST"]


async def test_recorder_never_blocks() -> None:
    rec = recorder()
    rec._send, rec._receive = trio.open_memory_channel(2)
    for i in range(5):
        rec.event(POD, "Normal", "R", str(i))
    rec.event(POD, "Bogus", "R", "ignored")
    assert rec.dropped == 3
