"""Service ClusterIP and NodePort allocation, as the Service registry does it upstream.

A :class:`ServiceAllocator` owns two in-memory reservation tables: cluster IPs (one range per
configured IP family) and node ports (one inclusive port range shared by ``nodePort`` and
``healthCheckNodePort``). Every reservation remembers the service (``namespace/name``) that
holds it.

Lifecycle, for the core's create/update/delete handlers::

    txn = allocator.allocate(service, old)     # mutates ``service``; reserves what it needs
    try:
        ... write ``service`` to the store ...
    except BaseException:
        txn.revert()                           # frees what this call reserved
        raise
    txn.commit()                               # frees what the update stopped using

    allocator.release(deleted_service)         # after a delete commits

Invariants:
- Dynamic picks are random. Like upstream they prefer the upper part of each range and use
  the lower "static" band (sized as upstream) only when the upper part is full, so addresses
  and ports users pick by hand rarely collide with generated ones. The first address of a
  range is never picked dynamically: it belongs to the ``kubernetes`` service.
- Reserving something the same service already holds succeeds (retries are idempotent);
  releasing only frees entries still held by that service (double release is harmless).
- ``rebuild()`` makes the tables equal to what stored services hold; run it at start-up
  before serving writes. Everything runs on one Trio thread, so no locking is needed.
- A dry-run ``allocate`` fills in the same fields but reserves nothing.
- Errors carry upstream's status, field paths and text, e.g. ``Internal error occurred:
  failed to allocate a serviceIP: range is full``.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from k3trio.api.defaults import service_ip_family_defaults
from k3trio.api.errors import APIError, FieldError, InternalError, Invalid
from k3trio.apiserver.interfaces import ObjectSource

__all__ = [
    "AllocationError",
    "AllocationTxn",
    "IPRange",
    "PortRange",
    "ServiceAllocator",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ERR_FULL = "range is full"
ERR_ALLOCATED_IP = "provided IP is already allocated"
ERR_ALLOCATED_PORT = "provided port is already allocated"


class AllocationError(Exception):
    """A reservation failed; ``str()`` is the allocator's text (``range is full``...)."""


def _family_of(ip: IPAddress) -> str:
    return "IPv4" if ip.version == 4 else "IPv6"


class _Band:
    """Offsets [0, size) into a range, split into a static lower band and a dynamic rest."""

    def __init__(self, size: int, static: int, rng: random.Random) -> None:
        self.size = size
        self.static = static
        self.held: dict[int, str] = {}
        self._rng = rng

    def reserve(self, offset: int, owner: str) -> None:
        holder = self.held.get(offset)
        if holder is not None and holder != owner:
            raise AllocationError("already allocated")
        self.held[offset] = owner

    def release(self, offset: int, owner: str | None) -> None:
        if owner is None or self.held.get(offset) == owner:
            self.held.pop(offset, None)

    def next_free(self, lowest: int = 0) -> int:
        """A random free offset, upper band first; raises AllocationError when full."""
        for lo, hi in ((max(self.static, lowest), self.size), (lowest, min(self.static, self.size))):
            found = self._scan(lo, hi)
            if found is not None:
                return found
        raise AllocationError(ERR_FULL)

    def _scan(self, lo: int, hi: int) -> int | None:
        count = hi - lo
        if count <= 0:
            return None
        # A few random probes find a hole quickly in a sparse range; then scan linearly
        # from a random start so that a nearly full range is still searched exhaustively.
        for _ in range(min(count, 32)):
            cand = lo + self._rng.randrange(count)
            if cand not in self.held:
                return cand
        start = self._rng.randrange(count)
        for step in range(count):
            cand = lo + (start + step) % count
            if cand not in self.held:
                return cand
        return None


class IPRange:
    """The assignable addresses of one service CIDR (network/broadcast excluded for IPv4)."""

    def __init__(self, cidr: str, rng: random.Random) -> None:
        self.network = ipaddress.ip_network(cidr.strip(), strict=False)
        self.cidr = str(self.network)
        self.family = _family_of(self.network.network_address)
        total = self.network.num_addresses
        if self.network.version == 4:
            size = total - 2 if total > 2 else 0
        else:
            size = min(total - 1, 2**16)  # upstream caps the bitmap of large IPv6 ranges
        if size < 1:
            raise ValueError(f"service CIDR {cidr!r} is too small")
        # Upstream's static band: min(max(16, size/16), 256).
        static = min(max(16, size // 16), 256)
        self.band = _Band(size, min(static, size), rng)
        self._base = int(self.network.network_address) + 1

    def offset_of(self, ip: IPAddress) -> int | None:
        off = int(ip) - self._base
        if ip.version != self.network.version or not 0 <= off < self.band.size:
            return None
        return off

    def address(self, offset: int) -> str:
        return str(ipaddress.ip_address(self._base + offset))


class PortRange:
    """An inclusive port range ``first-last``."""

    def __init__(self, first: int, last: int, rng: random.Random) -> None:
        if not 0 < first <= last <= 65535:
            raise ValueError(f"invalid node port range {first}-{last}")
        self.first, self.last = first, last
        size = last - first + 1
        # Upstream's static band: min(max(16, size/32), 128).
        self.band = _Band(size, min(min(max(16, size // 32), 128), size), rng)

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass
class AllocationTxn:
    """What one ``allocate`` call reserved, and what it will free on ``commit``."""

    _undo: list[Callable[[], None]] = field(default_factory=list)
    _deferred: list[Callable[[], None]] = field(default_factory=list)
    _done: bool = False

    def commit(self) -> None:
        """The object was stored: drop reservations the service no longer uses."""
        if not self._done:
            self._done = True
            for fn in self._deferred:
                fn()

    def revert(self) -> None:
        """The object was not stored: give back what this call reserved."""
        if not self._done:
            self._done = True
            for fn in reversed(self._undo):
                fn()


def _key(service: dict[str, Any]) -> str:
    meta = service.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _spec(service: dict[str, Any]) -> dict[str, Any]:
    spec = service.get("spec")
    if not isinstance(spec, dict):
        spec = service["spec"] = {}
    return spec


def _needs_cluster_ip(spec: dict[str, Any]) -> bool:
    return (spec.get("type") or "ClusterIP") != "ExternalName"


def _needs_node_port(spec: dict[str, Any]) -> bool:
    return spec.get("type") in ("NodePort", "LoadBalancer")


def _should_allocate_node_ports(spec: dict[str, Any]) -> bool:
    if spec.get("type") == "NodePort":
        return True
    if spec.get("type") == "LoadBalancer":
        return spec.get("allocateLoadBalancerNodePorts") is not False
    return False


def _needs_hc_node_port(spec: dict[str, Any]) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _cluster_ips(spec: dict[str, Any]) -> list[str]:
    ips = [ip for ip in spec.get("clusterIPs") or [] if isinstance(ip, str) and ip]
    if not ips and isinstance(spec.get("clusterIP"), str) and spec["clusterIP"]:
        ips = [spec["clusterIP"]]
    return ips


def _node_ports(spec: dict[str, Any]) -> list[int]:
    out = []
    for port in spec.get("ports") or []:
        np = port.get("nodePort") if isinstance(port, dict) else None
        if isinstance(np, int) and np:
            out.append(np)
    return out


def _name(service: dict[str, Any]) -> str:
    return str((service.get("metadata") or {}).get("name", ""))


class ServiceAllocator:
    """Cluster IPs and node ports for Services.

    Args:
        service_cidr: one CIDR, or ``"v4cidr,v6cidr"`` for dual-stack (first is primary).
        node_port_range: inclusive ``(first, last)``, upstream's default ``(30000, 32767)``.
        objects: where ``rebuild()`` lists stored services (``objects.list("services")``).
        rng: randomness source (tests pass a seeded ``random.Random``).
    """

    def __init__(
        self,
        service_cidr: str,
        node_port_range: tuple[int, int] = (30000, 32767),
        objects: ObjectSource | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._rng = rng or random.Random()
        self.ranges: dict[str, IPRange] = {}
        for cidr in service_cidr.split(","):
            if cidr.strip():
                r = IPRange(cidr, self._rng)
                self.ranges.setdefault(r.family, r)
        if not self.ranges:
            raise ValueError("a service CIDR is required")
        self.primary_family = next(iter(self.ranges))
        self.ports = PortRange(node_port_range[0], node_port_range[1], self._rng)
        self._objects = objects

    # -- bookkeeping ---------------------------------------------------------------------------

    @property
    def service_cidr(self) -> str:
        return ",".join(r.cidr for r in self.ranges.values())

    def _range_for(self, ip: str) -> tuple[IPRange, int] | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        r = self.ranges.get(_family_of(addr))
        if r is None:
            return None
        off = r.offset_of(addr)
        return None if off is None else (r, off)

    def ip_owner(self, ip: str) -> str | None:
        """``namespace/name`` of the service holding ``ip``, or None."""
        found = self._range_for(ip)
        return None if found is None else found[0].band.held.get(found[1])

    def port_owner(self, port: int) -> str | None:
        return self.ports.band.held.get(port - self.ports.first)

    def used_ips(self) -> int:
        return sum(len(r.band.held) for r in self.ranges.values())

    def used_ports(self) -> int:
        return len(self.ports.band.held)

    def rebuild(self, services: Iterable[dict[str, Any]] | None = None) -> None:
        """Reset the tables to the reservations held by ``services`` (default: stored ones).

        Entries outside the configured ranges (the range was changed) are skipped; duplicate
        claims keep the first holder, like upstream's repair loop.
        """
        if services is None:
            services = self._objects.list("services") if self._objects is not None else []
        for r in self.ranges.values():
            r.band.held.clear()
        self.ports.band.held.clear()
        for svc in services:
            spec = svc.get("spec") or {}
            owner = _key(svc)
            for ip in _cluster_ips(spec):
                found = self._range_for(ip)
                if found is not None:
                    found[0].band.held.setdefault(found[1], owner)
            nps = _node_ports(spec)
            hc = spec.get("healthCheckNodePort")
            if isinstance(hc, int) and hc:
                nps.append(hc)
            for np in nps:
                if self.ports.first <= np <= self.ports.last:
                    self.ports.band.held.setdefault(np - self.ports.first, owner)

    # -- reservations with undo ----------------------------------------------------------------

    def _reserve_ip(self, txn: AllocationTxn, owner: str, ip: str, dry_run: bool) -> None:
        found = self._range_for(ip)
        if found is None:
            addr = ipaddress.ip_address(ip)
            r = self.ranges.get(_family_of(addr))
            cidr = r.cidr if r is not None else self.service_cidr
            raise AllocationError(
                f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {cidr}"
            )
        r, off = found
        holder = r.band.held.get(off)
        if holder is not None and holder != owner:
            raise AllocationError(ERR_ALLOCATED_IP)
        if holder is None and not dry_run:
            r.band.reserve(off, owner)
            txn._undo.append(lambda: r.band.release(off, owner))

    def _next_ip(self, txn: AllocationTxn, owner: str, family: str, dry_run: bool) -> str:
        r = self.ranges[family]
        off = r.band.next_free(lowest=1 if r.band.size > 1 else 0)
        if not dry_run:
            r.band.reserve(off, owner)
            txn._undo.append(lambda: r.band.release(off, owner))
        return r.address(off)

    def _reserve_port(self, txn: AllocationTxn, owner: str, port: int, dry_run: bool) -> None:
        if not self.ports.first <= port <= self.ports.last:
            raise AllocationError(
                f"provided port is not in the valid range. The range of valid ports is {self.ports}"
            )
        off = port - self.ports.first
        band = self.ports.band
        holder = band.held.get(off)
        if holder is not None and holder != owner:
            raise AllocationError(ERR_ALLOCATED_PORT)
        if holder is None and not dry_run:
            band.reserve(off, owner)
            txn._undo.append(lambda: band.release(off, owner))

    def _next_port(self, txn: AllocationTxn, owner: str, dry_run: bool, taken: set[int]) -> int:
        band = self.ports.band
        if dry_run:
            # Nothing is reserved in a dry run, so skip ports this call already handed out.
            for _ in range(band.size):
                off = band.next_free()
                if off + self.ports.first not in taken:
                    return off + self.ports.first
            raise AllocationError(ERR_FULL)
        off = band.next_free()
        band.reserve(off, owner)
        txn._undo.append(lambda: band.release(off, owner))
        return off + self.ports.first

    def _defer_port_release(self, txn: AllocationTxn, owner: str, port: int) -> None:
        if self.ports.first <= port <= self.ports.last:
            band, off = self.ports.band, port - self.ports.first
            txn._deferred.append(lambda: band.release(off, owner))

    def _defer_ip_release(self, txn: AllocationTxn, owner: str, ip: str) -> None:
        found = self._range_for(ip)
        if found is not None:
            band, off = found[0].band, found[1]
            txn._deferred.append(lambda: band.release(off, owner))

    # -- the public operations -----------------------------------------------------------------

    def allocate(
        self, service: dict[str, Any], old: dict[str, Any] | None = None, *, dry_run: bool = False
    ) -> AllocationTxn:
        """Fill in and reserve ``service``'s cluster IPs, node ports and health-check port.

        ``old`` is the stored object on update (its reservations are kept when still used
        and released at ``commit()`` when not). Call after defaulting, before validation.

        Raises:
            Invalid: a requested IP/port is taken or outside the range (field-level error).
            InternalError: a range is full.
        """
        txn = AllocationTxn()
        try:
            if old is not None:
                self._patch_allocated_values(service, old)
            self._allocate_cluster_ips(txn, service, old, dry_run)
            self._allocate_node_ports(txn, service, old, dry_run)
            self._allocate_hc_node_port(txn, service, old, dry_run)
        except BaseException:
            txn.revert()
            raise
        if dry_run:
            txn._deferred.clear()
        return txn

    def release(self, service: dict[str, Any]) -> None:
        """Free everything ``service`` holds (after its deletion). Idempotent."""
        owner = _key(service)
        spec = service.get("spec") or {}
        for ip in _cluster_ips(spec):
            found = self._range_for(ip)
            if found is not None:
                found[0].band.release(found[1], owner)
        ports = _node_ports(spec)
        hc = spec.get("healthCheckNodePort")
        if isinstance(hc, int) and hc:
            ports.append(hc)
        for port in ports:
            if self.ports.first <= port <= self.ports.last:
                self.ports.band.release(port - self.ports.first, owner)

    # -- steps ---------------------------------------------------------------------------------

    @staticmethod
    def _patch_allocated_values(service: dict[str, Any], old: dict[str, Any]) -> None:
        """Carry allocated values an update left out (``patchAllocatedValues``), and drop the
        ones the new type no longer needs when they are unchanged (``dropTypeDependentFields``)."""
        spec, ospec = _spec(service), old.get("spec") or {}
        if _needs_cluster_ip(ospec) and _needs_cluster_ip(spec):
            if not spec.get("clusterIP") and ospec.get("clusterIP"):
                spec["clusterIP"] = ospec["clusterIP"]
            if not spec.get("clusterIPs") and ospec.get("clusterIPs"):
                spec["clusterIPs"] = list(ospec["clusterIPs"])
        if _needs_node_port(ospec) and _needs_node_port(spec):
            used = set(_node_ports(ospec)) & set(_node_ports(spec))
            by_name = {p.get("name", ""): p.get("nodePort") for p in ospec.get("ports") or []}
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    prev = by_name.get(port.get("name", ""))
                    if prev and prev not in used:
                        port["nodePort"] = prev
        if _needs_hc_node_port(ospec) and _needs_hc_node_port(spec):
            if not spec.get("healthCheckNodePort"):
                spec["healthCheckNodePort"] = ospec.get("healthCheckNodePort")
        # Type changes: clear what was allocated for the old type if the user left it as is.
        if _needs_cluster_ip(ospec) and not _needs_cluster_ip(spec):
            if _cluster_ips(spec) == _cluster_ips(ospec):
                for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                    spec.pop(key, None)
        if _needs_node_port(ospec) and not _needs_node_port(spec):
            if _node_ports(spec) == _node_ports(ospec):
                for port in spec.get("ports") or []:
                    port.pop("nodePort", None)
        if _needs_hc_node_port(ospec) and not _needs_hc_node_port(spec):
            if spec.get("healthCheckNodePort") == ospec.get("healthCheckNodePort"):
                spec.pop("healthCheckNodePort", None)

    def _allocate_cluster_ips(
        self, txn: AllocationTxn, service: dict[str, Any], old: dict[str, Any] | None, dry_run: bool
    ) -> None:
        spec = _spec(service)
        owner = _key(service)
        ospec = (old or {}).get("spec") or {}
        old_ips = _cluster_ips(ospec) if old is not None and _needs_cluster_ip(ospec) else []
        if not _needs_cluster_ip(spec):
            for ip in old_ips:
                if ip != "None":
                    self._defer_ip_release(txn, owner, ip)
            return
        service_ip_family_defaults(service, primary_family=self._family_guess(spec))
        requested = _cluster_ips(spec)
        if requested and spec.get("clusterIP") in (None, ""):
            spec["clusterIP"] = requested[0]
        if requested == ["None"]:
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
            return
        families = [f for f in spec.get("ipFamilies") or [] if isinstance(f, str)]
        policy = spec.get("ipFamilyPolicy")
        if policy == "SingleStack":
            families = families[:1]
        errs: list[FieldError] = []
        for i, fam in enumerate(families):
            if fam not in self.ranges:
                errs.append(FieldError.invalid(f"spec.ipFamilies[{i}]", fam, "not configured on this cluster"))
        if errs and not (policy == "PreferDualStack" and families and families[0] in self.ranges):
            raise Invalid("Service", _name(service), errs)
        families = [f for f in families if f in self.ranges]
        if policy in ("PreferDualStack", "RequireDualStack"):
            for fam in self.ranges:
                if fam not in families:
                    families.append(fam)
            spec["ipFamilies"] = list(families)
        out: list[str] = []
        for i, fam in enumerate(families):
            want = requested[i] if i < len(requested) else ""
            if want:
                if want in old_ips:
                    out.append(want)
                    continue
                try:
                    self._reserve_ip(txn, owner, want, dry_run)
                except AllocationError as exc:
                    raise Invalid(
                        "Service",
                        _name(service),
                        [FieldError.invalid("spec.clusterIPs", list(requested), f"failed to allocate IP {want}: {exc}")],
                    ) from None
                out.append(want)
            else:
                try:
                    out.append(self._next_ip(txn, owner, fam, dry_run))
                except AllocationError as exc:
                    raise InternalError(f"failed to allocate a serviceIP: {exc}") from None
        spec["clusterIPs"] = out
        spec["clusterIP"] = out[0] if out else spec.get("clusterIP")
        for ip in old_ips:
            if ip not in out and ip != "None":
                self._defer_ip_release(txn, owner, ip)

    def _family_guess(self, spec: dict[str, Any]) -> str:
        ips = _cluster_ips(spec)
        if ips and ips[0] != "None":
            try:
                return _family_of(ipaddress.ip_address(ips[0]))
            except ValueError:
                pass
        return self.primary_family

    def _allocate_node_ports(
        self, txn: AllocationTxn, service: dict[str, Any], old: dict[str, Any] | None, dry_run: bool
    ) -> None:
        spec = _spec(service)
        owner = _key(service)
        ospec = (old or {}).get("spec") or {}
        old_ports = set(_node_ports(ospec)) if old is not None else set()
        ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
        if _needs_node_port(spec):
            by_service_port: dict[Any, int] = {}
            handled: set[int] = set(old_ports)
            for i, port in enumerate(ports):
                np = port.get("nodePort") or 0
                if not np and not _should_allocate_node_ports(spec):
                    continue
                if not np:
                    # Same port number on another protocol shares the node port.
                    np = by_service_port.get(port.get("port")) or self._requested_for(port, ports)
                if np:
                    if np not in handled:
                        try:
                            self._reserve_port(txn, owner, np, dry_run)
                        except AllocationError as exc:
                            raise Invalid(
                                "Service",
                                _name(service),
                                [FieldError.invalid(f"spec.ports[{i}].nodePort", np, str(exc))],
                            ) from None
                        handled.add(np)
                else:
                    try:
                        np = self._next_port(txn, owner, dry_run, handled)
                    except AllocationError as exc:
                        raise InternalError(f"failed to allocate a nodePort: {exc}") from None
                    handled.add(np)
                port["nodePort"] = np
                by_service_port.setdefault(port.get("port"), np)
        new_ports = set(_node_ports(spec))
        for np in old_ports - new_ports:
            if np != (spec.get("healthCheckNodePort") or 0):
                self._defer_port_release(txn, owner, np)

    @staticmethod
    def _requested_for(port: dict[str, Any], ports: list[dict[str, Any]]) -> int:
        for other in ports:
            if other.get("port") == port.get("port") and other.get("nodePort"):
                return int(other["nodePort"])
        return 0

    def _allocate_hc_node_port(
        self, txn: AllocationTxn, service: dict[str, Any], old: dict[str, Any] | None, dry_run: bool
    ) -> None:
        spec = _spec(service)
        owner = _key(service)
        ospec = (old or {}).get("spec") or {}
        old_hc = ospec.get("healthCheckNodePort") or 0 if old is not None else 0
        if _needs_hc_node_port(spec):
            hc = spec.get("healthCheckNodePort") or 0
            if hc and hc == old_hc:
                return
            if hc:
                try:
                    self._reserve_port(txn, owner, hc, dry_run)
                except AllocationError as exc:
                    raise APIError(
                        f"failed to allocate requested HealthCheck NodePort {hc}: {exc}", code=500, reason=""
                    ) from None
            else:
                try:
                    hc = self._next_port(txn, owner, dry_run, set(_node_ports(spec)))
                except AllocationError as exc:
                    raise APIError(
                        f"failed to allocate a HealthCheck NodePort 0: {exc}", code=500, reason=""
                    ) from None
                spec["healthCheckNodePort"] = hc
        if old_hc and old_hc != (spec.get("healthCheckNodePort") or 0) and old_hc not in _node_ports(spec):
            self._defer_port_release(txn, owner, old_hc)
