"""Expectations: counts, observation, TTL expiry, UID tracking."""

from __future__ import annotations

from k3trio.controllers.expectations import Expectations, UIDTrackingExpectations


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_counts_and_ttl() -> None:
    clock = Clock()
    exp = Expectations(clock=clock)
    assert exp.satisfied("ns/rs")
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")
    exp.expect("ns/rs", adds=1)
    clock.now = 299
    assert not exp.satisfied("ns/rs")
    clock.now = 301
    assert exp.satisfied("ns/rs")
    exp.raise_("ns/x", adds=1)
    exp.lower("ns/x", adds=1)
    assert exp.satisfied("ns/x")
    exp.delete("ns/rs")
    assert exp.pending("ns/rs") is None


def test_uid_tracking_counts_each_pod_once() -> None:
    exp = UIDTrackingExpectations(clock=Clock())
    exp.expect_deletions_of("ns/rs", ["ns/p1", "ns/p2"])
    exp.deletion_observed_of("ns/rs", "ns/p1")
    exp.deletion_observed_of("ns/rs", "ns/p1")
    assert not exp.satisfied("ns/rs")
    assert exp.deleting("ns/rs") == {"ns/p2"}
    exp.deletion_observed_of("ns/rs", "ns/p2")
    assert exp.satisfied("ns/rs")
