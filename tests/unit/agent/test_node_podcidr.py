"""Node CIDRs from the cluster CIDR and pod IPs from a node's CIDR."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3trio.agent.node import CidrExhausted, CidrSet, PodIPAllocator


def test_cidr_set_hands_out_slash24s_next_fit() -> None:
    s = CidrSet("10.42.0.0/16")
    assert [s.allocate() for _ in range(3)] == ["10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24"]
    s.release("10.42.1.0/24")
    assert s.allocate() == "10.42.3.0/24"  # next fit, not first fit
    assert len(s) == 3


def test_cidr_set_occupy_and_exhaustion() -> None:
    s = CidrSet("10.42.0.0/23", 24)
    assert s.occupy("10.42.1.0/24")
    assert not s.occupy("10.99.0.0/24")  # outside
    assert not s.occupy("10.42.0.0/25")  # wrong size
    assert s.allocate() == "10.42.0.0/24"
    with pytest.raises(CidrExhausted):
        s.allocate()
    s.release("10.42.1.0/24")
    assert s.allocate() == "10.42.1.0/24"


def test_cidr_set_rejects_bad_masks() -> None:
    with pytest.raises(ValueError):
        CidrSet("10.42.0.0/24", 16)
    with pytest.raises(ValueError):
        CidrSet("10.0.0.0/8", 30)


def test_pod_ips_skip_network_gateway_and_broadcast() -> None:
    a = PodIPAllocator("10.42.7.0/29")  # .0 network, .1 gateway, .7 broadcast
    assert a.gateway == "10.42.7.1"
    ips = [a.allocate(f"p{i}") for i in range(5)]
    assert ips == ["10.42.7.2", "10.42.7.3", "10.42.7.4", "10.42.7.5", "10.42.7.6"]
    assert a.allocate("p0") == "10.42.7.2"  # idempotent per owner
    with pytest.raises(CidrExhausted):
        a.allocate("p5")
    assert a.release("p1") == "10.42.7.3"
    assert a.allocate("p6") == "10.42.7.3"


def test_pod_ips_round_robin_and_reserve() -> None:
    a = PodIPAllocator("10.42.0.0/24")
    assert a.allocate("a") == "10.42.0.2"
    a.release("a")
    assert a.allocate("b") == "10.42.0.3"  # a freed IP is not reused at once
    assert a.reserve("c", "10.42.0.9")
    assert not a.reserve("d", "10.42.0.9")  # taken
    assert not a.reserve("d", "10.43.0.9")  # outside
    assert not a.reserve("d", "10.42.0.1")  # the gateway
    assert a.get("c") == "10.42.0.9"


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 20)), max_size=200))
def test_pod_ip_allocator_never_double_books(ops: list[tuple[bool, int]]) -> None:
    a = PodIPAllocator("10.42.0.0/27")
    held: dict[str, str] = {}
    for allocate, n in ops:
        owner = f"o{n}"
        if allocate:
            try:
                held[owner] = a.allocate(owner)
            except CidrExhausted:
                assert len(held) == a.capacity
        else:
            assert a.release(owner) == held.pop(owner, None)
        assert len(set(held.values())) == len(held) == len(a)
        for ip in held.values():
            addr = ipaddress.ip_address(ip)
            assert addr in a.network and ip not in ("10.42.0.0", "10.42.0.1", "10.42.0.31")
