"""Restart decisions, crash-loop back-off, phase and container statuses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3trio.agent.cri import ContainerState, ContainerStatus
from k3trio.agent.kubelet.podsync import (
    Backoff,
    ContainerView,
    container_status,
    pod_phase,
    should_restart,
)

POD: dict[str, Any] = {"metadata": {"name": "p", "namespace": "default", "uid": "u"},
                       "spec": {"containers": [{"name": "main", "image": "busybox"}]}}
C = POD["spec"]["containers"][0]
S = 1_000_000_000


def _status(state: ContainerState, attempt: int = 0, code: int = 0) -> ContainerStatus:
    return ContainerStatus(id=f"{attempt:064x}", name="main", attempt=attempt, state=state,
                           created_at=10 * S, started_at=11 * S,
                           finished_at=12 * S if state == ContainerState.EXITED else 0,
                           exit_code=code, image="docker.io/library/busybox:latest",
                           image_ref="sha256:abc")


def _image_id(s: ContainerStatus) -> str:
    return "docker.io/library/busybox@" + s.image_ref


@pytest.mark.parametrize(("policy", "code", "restart"), [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 2, True),
    ("Never", 0, False), ("Never", 1, False),
])
def test_restart_policy(policy: str, code: int, restart: bool) -> None:
    assert should_restart(policy, code) is restart


def test_backoff_first_restart_immediate_then_doubles_to_cap() -> None:
    b = Backoff()
    key = ("u", "main")
    assert b.remaining(key, since=0.0, now=0.0) == 0.0
    delays = [b.next(key, now=float(i)) for i in range(7)]
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert b.remaining(key, since=100.0, now=110.0) == 290.0


def test_backoff_forgets_after_twice_the_cap() -> None:
    b = Backoff()
    b.next(("u", "main"), now=0.0)
    b.next(("u", "main"), now=1.0)
    assert b.remaining(("u", "main"), since=1.0, now=2.0) == 19.0
    assert b.remaining(("u", "main"), since=1.0, now=1000.0) == 0.0
    assert b.next(("u", "main"), now=1000.0) == 10.0
    b.forget("u")
    assert b.remaining(("u", "main"), since=1000.0, now=1001.0) == 0.0


@given(st.lists(st.floats(min_value=0, max_value=599), min_size=1, max_size=30))
def test_backoff_never_exceeds_cap(gaps: list[float]) -> None:
    b = Backoff()
    now = 0.0
    for gap in gaps:
        now += gap
        assert 10.0 <= b.next("k", now) <= 300.0
        assert b.remaining("k", now, now) <= 300.0


def test_running_status() -> None:
    s = container_status(POD, C, ContainerView(_status(ContainerState.RUNNING, 2),
                                               _status(ContainerState.EXITED, 1, 3)), _image_id)
    assert s["containerID"] == "containerd://" + f"{2:064x}"
    assert s["state"] == {"running": {"startedAt": "1970-01-01T00:00:11Z"}}
    assert s["restartCount"] == 2
    assert s["lastState"]["terminated"]["exitCode"] == 3
    assert s["ready"] is True
    assert s["imageID"] == "docker.io/library/busybox@sha256:abc"


def test_crash_loop_status_is_waiting_with_last_state() -> None:
    view = ContainerView(_status(ContainerState.EXITED, 1, 3), None, "CrashLoopBackOff", "back-off")
    s = container_status(POD, C, view, _image_id)
    assert s["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}
    assert s["lastState"]["terminated"]["exitCode"] == 3
    assert s["lastState"]["terminated"]["reason"] == "Error"
    assert s["restartCount"] == 1


def test_no_container_yet_is_creating() -> None:
    s = container_status(POD, C, ContainerView(), _image_id)
    assert s["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert "containerID" not in s


def _cs(state: dict[str, Any], last: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"state": state, "lastState": last or {}}


RUN = {"running": {}}
WAIT = {"waiting": {"reason": "ContainerCreating"}}


def _term(code: int) -> dict[str, Any]:
    return {"terminated": {"exitCode": code}}


@pytest.mark.parametrize(("policy", "statuses", "phase"), [
    ("Always", [_cs(WAIT)], "Pending"),
    ("Always", [_cs(RUN)], "Running"),
    ("Always", [_cs(RUN), _cs(WAIT)], "Pending"),
    ("Always", [_cs({"waiting": {"reason": "CrashLoopBackOff"}}, _term(1))], "Running"),
    ("Always", [_cs(_term(0))], "Running"),
    ("Never", [_cs(_term(0)), _cs(_term(0))], "Succeeded"),
    ("Never", [_cs(_term(0)), _cs(_term(1))], "Failed"),
    ("Never", [_cs(RUN), _cs(_term(1))], "Running"),
    ("OnFailure", [_cs(_term(0))], "Succeeded"),
    ("OnFailure", [_cs(_term(2))], "Running"),
    ("Always", [], "Pending"),
])
def test_pod_phase(policy: str, statuses: list[dict[str, Any]], phase: str) -> None:
    assert pod_phase(policy, statuses) == phase
