"""The Job controller over the in-memory fake API, with a mock clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import trio
import trio.testing

from k3trio.controllers import job_pods as jp
from k3trio.controllers.job import JobController

from .conftest import Harness


def job(name: str = "pi", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
        "podReplacementPolicy": "TerminatingOrFailed",
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"restartPolicy": "Never",
                              "containers": [{"name": "c", "image": "busybox"}]}},
    }
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default"}, "spec": base}


def finish(h: Harness, phase: str, *, count: int | None = None, exit_code: int = 1,
           index: int | None = None) -> int:
    n = 0
    for pod in h.api.all("pods", "default"):
        st = pod.get("status") or {}
        if st.get("phase") in ("Succeeded", "Failed") or pod["metadata"].get("deletionTimestamp"):
            continue
        if index is not None and jp.pod_index(pod) != index:
            continue
        stamp = h.wall().strftime("%Y-%m-%dT%H:%M:%SZ")
        code = 0 if phase == "Succeeded" else exit_code
        pod["status"] = {"phase": phase, "containerStatuses": [{"name": "c", "state": {
            "terminated": {"exitCode": code, "finishedAt": stamp}}}]}
        h.api.put("pods", pod)
        n += 1
        if count is not None and n >= count:
            break
    return n


def status(h: Harness, name: str = "pi") -> dict[str, Any]:
    return h.api.obj("jobs", "default", name).get("status") or {}


def cond(h: Harness, ctype: str, name: str = "pi") -> dict[str, Any] | None:
    for c in status(h, name).get("conditions") or []:
        if c["type"] == ctype:
            return c  # type: ignore[no-any-return]
    return None


def live_pods(h: Harness) -> list[dict[str, Any]]:
    return [p for p in h.api.all("pods", "default")
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


async def test_completions_with_parallelism(harness: Harness,
                                            autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(JobController)
    h.api.put("jobs", job(completions=3, parallelism=2))
    await h.settle()
    pods = live_pods(h)
    assert len(pods) == 2
    assert all(jp.TRACKING_FINALIZER in p["metadata"]["finalizers"] for p in pods)
    assert pods[0]["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert status(h)["active"] == 2 and status(h)["startTime"]
    finish(h, "Succeeded", count=2)
    await h.settle()
    assert status(h)["succeeded"] == 2 and status(h)["active"] == 1
    assert all(jp.TRACKING_FINALIZER not in (p["metadata"].get("finalizers") or [])
               for p in h.api.all("pods") if (p.get("status") or {}).get("phase") == "Succeeded")
    finish(h, "Succeeded")
    await h.settle()
    st = status(h)
    assert st["succeeded"] == 3 and "active" not in st
    assert st["uncountedTerminatedPods"] == {}
    assert cond(h, "SuccessCriteriaMet")["reason"] == "CompletionsReached"  # type: ignore[index]
    complete = cond(h, "Complete")
    assert complete and complete["message"] == "Reached expected number of succeeded pods"
    assert st["completionTime"]
    reasons = [e.get("reason") for e in h.api.all("events")]
    assert "Completed" in reasons and reasons.count("SuccessfulCreate") == 3


async def test_backoff_then_backoff_limit(harness: Harness,
                                          autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(JobController)
    h.api.put("jobs", job(backoffLimit=2))
    await h.settle()
    finish(h, "Failed")
    await h.settle(1)
    assert status(h)["failed"] == 1 and not live_pods(h)  # backing off 10 s
    await h.settle(10)
    assert len(live_pods(h)) == 1
    finish(h, "Failed")
    await h.settle(15)
    assert not live_pods(h)  # 20 s now
    await h.settle(6)
    assert len(live_pods(h)) == 1
    finish(h, "Failed")
    await h.settle(1)
    st = status(h)
    assert st["failed"] == 3
    failed = cond(h, "Failed")
    assert failed and failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert cond(h, "FailureTarget") and "completionTime" not in st


async def test_indexed_job(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(JobController)
    h.api.put("jobs", job(completions=3, parallelism=3, completionMode="Indexed"))
    await h.settle()
    pods = live_pods(h)
    assert sorted(jp.pod_index(p) for p in pods) == [0, 1, 2]  # type: ignore[type-var]
    p0 = next(p for p in pods if jp.pod_index(p) == 0)
    assert p0["spec"]["hostname"] == "pi-0"
    assert p0["metadata"]["labels"][jp.COMPLETION_INDEX] == "0"
    assert p0["metadata"]["generateName"] == "pi-0-"
    env = p0["spec"]["containers"][0]["env"]
    assert env[0]["name"] == "JOB_COMPLETION_INDEX"
    finish(h, "Succeeded", index=1)
    finish(h, "Failed", index=2)
    await h.settle(1)
    assert status(h)["completedIndexes"] == "1"
    await h.settle(10)
    assert sorted(jp.pod_index(p) for p in live_pods(h)) == [0, 2]  # type: ignore[type-var]
    finish(h, "Succeeded")
    await h.settle()
    assert status(h)["completedIndexes"] == "0-2"
    assert cond(h, "Complete")


async def test_active_deadline(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(JobController)
    h.api.put("jobs", job(activeDeadlineSeconds=30, parallelism=2, completions=4))
    await h.settle()
    assert len(live_pods(h)) == 2
    await h.settle(31)
    failed = cond(h, "Failed")
    assert failed and failed["reason"] == "DeadlineExceeded"
    assert not h.api.all("pods")
    assert status(h)["failed"] == 2  # the deleted pods count as failed


async def test_suspend_and_resume(harness: Harness,
                                  autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(JobController)
    h.api.put("jobs", job(suspend=True))
    await h.settle()
    assert not h.api.all("pods")
    assert cond(h, "Suspended")["reason"] == "JobSuspended"  # type: ignore[index]
    j = h.api.obj("jobs", "default", "pi")
    j["spec"]["suspend"] = False
    h.api.put("jobs", j)
    await h.settle()
    assert len(live_pods(h)) == 1
    c = cond(h, "Suspended")
    assert c and c["status"] == "False" and c["reason"] == "JobResumed"


async def test_pod_failure_policy(harness: Harness,
                                  autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(JobController)
    policy = {"rules": [
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}},
        {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In",
                                              "values": [42]}},
    ]}
    h.api.put("jobs", job(podFailurePolicy=policy, podReplacementPolicy="Failed"))
    await h.settle()
    finish(h, "Failed", exit_code=3)
    await h.settle(1)
    assert "failed" not in status(h) and len(live_pods(h)) == 1  # ignored: replaced at once
    finish(h, "Failed", exit_code=42)
    await h.settle(1)
    failed = cond(h, "Failed")
    assert failed and failed["reason"] == "PodFailurePolicy"
    assert "failed with exit code 42 matching FailJob rule at index 1" in failed["message"]


def test_pure_helpers() -> None:
    assert jp.format_indexes([5, 1, 3, 4, 7, 0]) == "0,1,3-5,7"
    assert jp.parse_indexes("0,1,3-5,7") == {0, 1, 3, 4, 5, 7}
    assert jp.parse_indexes("1-9", completions=3) == {1, 2}
    now = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)

    def failed(at: str) -> dict[str, Any]:
        return {"metadata": {"uid": at}, "status": {"phase": "Failed", "containerStatuses": [
            {"state": {"terminated": {"exitCode": 1, "finishedAt": at}}}]}}

    j = job()
    assert jp.backoff_remaining(j, [failed("2026-01-01T00:00:55Z")], now) == 5.0
    pods = [failed("2026-01-01T00:00:00Z"), failed("2026-01-01T00:00:50Z")]
    assert jp.backoff_remaining(j, pods, now) == 10.0
    many = [failed("2026-01-01T00:00:59Z")] * 9
    assert jp.backoff_remaining(j, many, now) == 359.0
