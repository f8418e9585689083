"""The hollow kubelet's per-pod decision table, completion rules and admission."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from k3trio.hollow.pods import (
    Completion,
    PodRecord,
    Step,
    admit,
    completion_of,
    decide,
    parse_duration,
    pod_requests,
)

T0 = datetime(2026, 1, 2, tzinfo=UTC)


def pod(phase: str = "Pending", *, uid: str = "u1", deleting: bool = False,
        annotations: dict[str, str] | None = None, policy: str = "Always",
        job: bool = False, ip: str | None = None, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "d", "uid": uid,
                            "annotations": annotations or {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-02T00:00:00Z"
    if job:
        meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": "j",
                                    "uid": "j", "controller": True}]
    status: dict[str, Any] = {"phase": phase}
    if ip:
        status["podIP"] = ip
    return {"metadata": meta, "spec": {"nodeName": "n", "restartPolicy": policy,
                                       "containers": [{"name": "c", "image": "x"}], **spec},
            "status": status}


def record(uid: str = "u1", *, after: float | None = None, terminated: bool = False,
           started: float = 100.0) -> PodRecord:
    return PodRecord(uid, "n", "10.42.0.2", {"c": "containerd://1"}, T0, started,
                     Completion(after), terminated=terminated)


def step(p: dict[str, Any] | None, r: PodRecord | None, *, now: float = 100.0,
         network: bool = True, mine: bool = True) -> tuple[Step, float]:
    return decide(p, r, mine=mine, network_ready=network, now_mono=now)


@pytest.mark.parametrize(("p", "r", "network", "expected"), [
    (None, record(), True, Step.FORGET),
    (pod(), None, True, Step.START),
    (pod(), None, False, Step.WAIT_NETWORK),
    (pod(hostNetwork=True), None, False, Step.START),
    (pod("Running", ip="10.42.0.9"), None, True, Step.ADOPT),
    (pod("Running"), record(), True, Step.NOTHING),
    (pod("Succeeded"), None, True, Step.RELEASE),
    (pod("Failed"), record(terminated=True), True, Step.NOTHING),
    (pod("Running", deleting=True), record(), True, Step.KILL),
    (pod("Running", deleting=True), None, True, Step.KILL),
    (pod("Pending", deleting=True), None, True, Step.DELETE),
    (pod("Succeeded", deleting=True), record(terminated=True), True, Step.DELETE),
    (pod(uid="u2"), record("u1"), True, Step.START),  # same name, new pod
])
def test_decision_table(p: Any, r: Any, network: bool, expected: Step) -> None:
    assert step(p, r, network=network)[0] is expected


def test_not_mine_is_forgotten() -> None:
    assert step(pod(), record(), mine=False)[0] is Step.FORGET


def test_completion_timing() -> None:
    r = record(after=2.0, started=100.0)
    assert step(pod("Running"), r, now=100.5) == (Step.WAIT, 1.5)
    assert step(pod("Running"), r, now=102.0)[0] is Step.EXIT
    assert step(pod("Running"), record(after=2.0, terminated=True), now=200)[0] is Step.NOTHING


def test_completion_rules() -> None:
    assert completion_of(pod()) == Completion(None, 0)
    assert completion_of(pod(policy="Never", job=True)) == Completion(1.0, 0)
    assert completion_of(pod(policy="OnFailure", job=True)) == Completion(1.0, 0)
    assert completion_of(pod(policy="Never")) == Completion(None, 0)  # a bare pod runs on
    ann = {"hollow.k3trio.io/complete-after": "2s", "hollow.k3trio.io/exit-code": "1"}
    assert completion_of(pod(policy="Never", annotations=ann)) == Completion(2.0, 1)
    never = {"hollow.k3trio.io/complete-after": "never"}
    assert completion_of(pod(policy="Never", job=True, annotations=never)).after is None
    # restartPolicy Always never completes, whatever the annotation says
    assert completion_of(pod(annotations=ann)).after is None
    bad = {"hollow.k3trio.io/complete-after": "soon", "hollow.k3trio.io/exit-code": "x"}
    assert completion_of(pod(policy="Never", job=True, annotations=bad)) == Completion(1.0, 0)


def test_parse_duration() -> None:
    assert parse_duration("2s") == 2.0
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1.5h") == 5400.0
    assert parse_duration("0") == 0.0
    for bad in ("", "2", "s", "2x", "1s2"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_requests_and_admission() -> None:
    p = pod(containers=[
        {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
        {"name": "b", "resources": {"requests": {"cpu": "250m"}}}],
        initContainers=[{"name": "i", "resources": {"requests": {"cpu": "1"}}}])
    req = pod_requests(p)
    assert req == {"cpu": 1000, "memory": 64 * 1024 * 1024, "pods": 1}
    alloc = {"pods": 110, "cpu": 4000, "memory": 16 << 30}
    assert admit(req, {"pods": 3, "cpu": 1000}, alloc) is None
    assert admit(req, {"pods": 110}, alloc) == (
        "OutOfpods",
        "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 110, "
        "capacity: 110")
    reason, message = admit(req, {"cpu": 3500}, alloc) or ("", "")
    assert reason == "OutOfcpu"
    assert message.endswith("cpu, requested: 1000, used: 3500, capacity: 4000")
