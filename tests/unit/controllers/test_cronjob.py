"""The CronJob controller over the fake API with a mock clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import trio
import trio.testing

from k3trio.controllers.cron import parse
from k3trio.controllers.cronjob import (
    SCHEDULED_TIMESTAMP,
    CronJobController,
    job_name,
    jobs_to_prune,
    most_recent,
)

from .conftest import Harness

EPOCH_MIN = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) // 60


def cronjob(name: str = "tick", schedule: str = "* * * * *", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schedule": schedule, "concurrencyPolicy": "Allow", "suspend": False,
        "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
        "jobTemplate": {"metadata": {"labels": {"team": "a"}}, "spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}},
    }
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": name, "namespace": "default",
                         "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": base}


def jobs(h: Harness) -> list[dict[str, Any]]:
    return h.api.all("jobs", "default")


def finish_job(h: Harness, name: str, ctype: str = "Complete") -> None:
    j = h.api.obj("jobs", "default", name)
    stamp = h.wall().strftime("%Y-%m-%dT%H:%M:%SZ")
    j["status"] = {"startTime": stamp, "conditions": [{"type": ctype, "status": "True"}]}
    if ctype == "Complete":
        j["status"]["completionTime"] = stamp
    h.api.put("jobs", j)


async def test_creates_job_each_minute(harness: Harness,
                                       autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(CronJobController)
    h.api.put("cronjobs", cronjob())
    await h.settle(30)
    assert jobs(h) == []
    await h.settle(31)
    [j] = jobs(h)
    assert j["metadata"]["name"] == f"tick-{EPOCH_MIN + 1}"
    assert j["metadata"]["labels"] == {"team": "a"}
    assert j["metadata"]["annotations"][SCHEDULED_TIMESTAMP] == "2026-01-01T00:01:00+00:00"
    ref = j["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "CronJob" and ref["controller"] and ref["blockOwnerDeletion"]
    st = h.api.obj("cronjobs", "default", "tick")["status"]
    assert st["lastScheduleTime"] == "2026-01-01T00:01:00Z"
    assert [a["name"] for a in st["active"]] == [f"tick-{EPOCH_MIN + 1}"]
    finish_job(h, j["metadata"]["name"])
    await h.settle(1)
    st = h.api.obj("cronjobs", "default", "tick")["status"]
    assert "active" not in st and st["lastSuccessfulTime"]
    await h.settle(60)
    assert len(jobs(h)) == 2
    reasons = [e["reason"] for e in h.api.all("events")]
    assert reasons.count("SuccessfulCreate") == 2 and "SawCompletedJob" in reasons


async def test_forbid_and_replace(harness: Harness,
                                  autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(CronJobController)
    h.api.put("cronjobs", cronjob("f", concurrencyPolicy="Forbid"))
    h.api.put("cronjobs", cronjob("r", concurrencyPolicy="Replace"))
    await h.settle(125)
    names = sorted(j["metadata"]["name"] for j in jobs(h))
    assert names == [f"f-{EPOCH_MIN + 1}", f"r-{EPOCH_MIN + 2}"]
    reasons = [e["reason"] for e in h.api.all("events")]
    assert "JobAlreadyActive" in reasons and "SuccessfulDelete" in reasons


async def test_suspend_and_deadline(harness: Harness,
                                    autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(CronJobController)
    h.api.put("cronjobs", cronjob("s", suspend=True))
    await h.settle(135)
    assert jobs(h) == []
    cj = h.api.obj("cronjobs", "default", "s")
    cj["spec"]["suspend"] = False
    cj["spec"]["startingDeadlineSeconds"] = 10
    h.api.put("cronjobs", cj)
    await h.settle(1)
    assert jobs(h) == []  # the 00:02 run is more than 10 s late now: skipped
    await h.settle(60)
    assert [j["metadata"]["name"] for j in jobs(h)] == [f"s-{EPOCH_MIN + 3}"]


def test_most_recent_and_history() -> None:
    sched = parse("*/5 * * * *")
    cj = cronjob()
    now = datetime(2026, 1, 1, 0, 12, 30, tzinfo=UTC)
    r = most_recent(cj, sched, now)
    assert r.time == datetime(2026, 1, 1, 0, 10, tzinfo=UTC) and r.missed == 2
    far = datetime(2026, 3, 1, tzinfo=UTC)
    r = most_recent(cronjob(), parse("* * * * *"), far)
    assert r.time == far and r.missed > 100
    cj["spec"]["startingDeadlineSeconds"] = 200
    r = most_recent(cj, parse("* * * * *"), far)
    assert r.missed == 4
    assert job_name("x", datetime(1970, 1, 1, 1, tzinfo=UTC)) == "x-60"

    def done(name: str, start: int, ctype: str) -> dict[str, Any]:
        t = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=start))
        return {"metadata": {"name": name}, "status": {
            "startTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conditions": [{"type": ctype, "status": "True"}]}}

    js = [done(f"ok{i}", i, "Complete") for i in range(5)] + \
        [done(f"bad{i}", i, "Failed") for i in range(3)]
    assert [j["metadata"]["name"] for j in jobs_to_prune(cronjob(), js)] == \
        ["ok0", "ok1", "bad0", "bad1"]
