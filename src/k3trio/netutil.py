"""Small host-network facts: the node's primary IPv4 address."""

from __future__ import annotations

import fcntl
import socket
import struct

_SIOCGIFADDR = 0x8915


def default_route_interface(route_table: str = "/proc/net/route") -> str | None:
    """The interface of the IPv4 default route, if there is one."""
    try:
        with open(route_table) as f:
            next(f, None)
            for line in f:
                fields = line.split()
                if len(fields) >= 4 and fields[1] == "00000000" and int(fields[3], 16) & 1:
                    return fields[0]
    except OSError:
        return None
    return None


def interface_ipv4(name: str) -> str | None:
    """The primary IPv4 address of interface ``name``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def primary_ipv4() -> str:
    """The address other hosts reach this node on: the default route's, else loopback."""
    iface = default_route_interface()
    if iface:
        addr = interface_ipv4(iface)
        if addr:
            return addr
    return "127.0.0.1"
