"""Pod address ranges, pure: per-node CIDRs out of the cluster CIDR, pod IPs out of a node's.

``CidrSet`` hands out the ``/mask`` subnets of a cluster CIDR (``10.42.0.0/16`` -> ``/24``
per node) as the node-ipam controller's range allocator does: next-fit from the last
allocation, wrapping around; ``occupy`` marks a CIDR a Node already has (after a restart);
``release`` frees one. Invariant: ``_used`` holds exactly the allocated subnet indexes.

``PodIPAllocator`` hands out pod IPs from one node's podCIDR as CNI host-local IPAM does:
the network address, the gateway (the first host, on ``cni0``) and the broadcast address are
never given; allocation is round-robin from the last address given, so a freed IP is not
reused at once. Invariant: ``_by_owner`` and ``_owner_of`` are inverse maps.
"""

from __future__ import annotations

import ipaddress

__all__ = ["CidrExhausted", "CidrSet", "PodIPAllocator"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CidrExhausted(Exception):
    """No free range (or address) is left."""


class CidrSet:
    """The ``/mask`` subnets of ``cluster_cidr``.

    Raises:
        ValueError: an invalid CIDR, or a mask not longer than the cluster CIDR's.
    """

    def __init__(self, cluster_cidr: str, mask: int = 24) -> None:
        self.network: Network = ipaddress.ip_network(cluster_cidr, strict=False)
        if not self.network.prefixlen < mask <= self.network.max_prefixlen:
            raise ValueError(
                f"node CIDR mask /{mask} must be longer than the cluster CIDR's "
                f"/{self.network.prefixlen}"
            )
        if mask - self.network.prefixlen > 20:
            raise ValueError(f"too many node CIDRs: /{mask} in {cluster_cidr}")
        self.mask = mask
        self.size = 1 << (mask - self.network.prefixlen)
        self._used: set[int] = set()
        self._next = 0

    def __len__(self) -> int:
        return len(self._used)

    def _subnet(self, index: int) -> str:
        step = 1 << (self.network.max_prefixlen - self.mask)
        base = self.network.network_address + index * step
        return f"{base}/{self.mask}"

    def _index(self, cidr: str) -> int:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.prefixlen != self.mask or not net.subnet_of(self.network):  # type: ignore[arg-type]
            raise ValueError(f"{cidr} is not a /{self.mask} subnet of {self.network}")
        step = 1 << (self.network.max_prefixlen - self.mask)
        return (int(net.network_address) - int(self.network.network_address)) // step

    def allocate(self) -> str:
        """The next free subnet.

        Raises:
            CidrExhausted: every subnet is in use.
        """
        for i in range(self.size):
            index = (self._next + i) % self.size
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % self.size
                return self._subnet(index)
        raise CidrExhausted(f"CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

    def occupy(self, cidr: str) -> bool:
        """Mark ``cidr`` used; False if it is not one of this set's subnets.

        A subnet already in use stays in use (two Nodes claiming one range is reported by the
        caller, not prevented here).
        """
        try:
            index = self._index(cidr)
        except ValueError:
            return False
        self._used.add(index)
        return True

    def release(self, cidr: str) -> None:
        """Free ``cidr`` (no-op when it is not a used subnet of this set)."""
        try:
            self._used.discard(self._index(cidr))
        except ValueError:
            pass

    def in_use(self, cidr: str) -> bool:
        try:
            return self._index(cidr) in self._used
        except ValueError:
            return False


class PodIPAllocator:
    """Pod IPs of one node's podCIDR, keyed by an owner (the pod UID)."""

    def __init__(self, pod_cidr: str) -> None:
        self.network: Network = ipaddress.ip_network(pod_cidr, strict=False)
        first = int(self.network.network_address) + 2  # skip the network and the gateway
        last = int(self.network.broadcast_address) - 1
        if last < first:
            raise ValueError(f"podCIDR {pod_cidr} has no room for pods")
        self._first = first
        self._last = last
        self._cursor = first - 1
        self._by_owner: dict[str, str] = {}
        self._owner_of: dict[str, str] = {}

    @property
    def gateway(self) -> str:
        return str(self.network.network_address + 1)

    @property
    def capacity(self) -> int:
        return self._last - self._first + 1

    def __len__(self) -> int:
        return len(self._by_owner)

    def __contains__(self, ip: object) -> bool:
        try:
            return ipaddress.ip_address(str(ip)) in self.network
        except ValueError:
            return False

    def get(self, owner: str) -> str | None:
        return self._by_owner.get(owner)

    def allocate(self, owner: str) -> str:
        """The owner's IP (the same one on repeated calls).

        Raises:
            CidrExhausted: every address is in use.
        """
        ip = self._by_owner.get(owner)
        if ip is not None:
            return ip
        span = self.capacity
        for i in range(1, span + 1):
            value = self._first + (self._cursor - self._first + i) % span
            candidate = str(ipaddress.ip_address(value))
            if candidate not in self._owner_of:
                self._cursor = value
                self._by_owner[owner] = candidate
                self._owner_of[candidate] = owner
                return candidate
        raise CidrExhausted(f"no IP addresses available in range set: {self.network}")

    def reserve(self, owner: str, ip: str) -> bool:
        """Record that ``owner`` already has ``ip`` (after a restart); False if it cannot."""
        if ip not in self or self._owner_of.get(ip, owner) != owner:
            return False
        value = int(ipaddress.ip_address(ip))
        if not self._first <= value <= self._last:
            return False
        old = self._by_owner.get(owner)
        if old is not None and old != ip:
            del self._owner_of[old]
        self._by_owner[owner] = ip
        self._owner_of[ip] = owner
        return True

    def release(self, owner: str) -> str | None:
        """Free the owner's IP; return it (None when it had none)."""
        ip = self._by_owner.pop(owner, None)
        if ip is not None:
            del self._owner_of[ip]
        return ip
