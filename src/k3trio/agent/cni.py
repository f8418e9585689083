"""The node's CNI network: a bridge conflist for its podCIDR. Pure apart from ``write_conflist``.

containerd's CRI plugin reads ``<conf_dir>/10-k3trio.conflist`` and runs, per sandbox:

    bridge     ``cni0`` (created on first use), the pod's veth on it; isGateway gives cni0
               the first address of the podCIDR; ipMasq masquerades pod traffic leaving the
               node; IPAM host-local hands out the podCIDR (state under ``dataDir``)
    portmap    ``hostPort`` mappings (capability ``portMappings``) with SNAT
    loopback   is not listed: containerd brings up ``lo`` in every sandbox itself

The plugins are Debian's ``containernetworking-plugins`` (``/usr/lib/cni``) or upstream's
(``/opt/cni/bin``). Invariant: the file is rewritten atomically and only when it changed, so
containerd never reads half a config and an unchanged network is left alone.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["BRIDGE", "CONFLIST_NAME", "NETWORK_NAME", "bridge_conflist", "write_conflist"]

NETWORK_NAME = "k3trio"
BRIDGE = "cni0"
CONFLIST_NAME = "10-k3trio.conflist"
CNI_VERSION = "1.0.0"


def bridge_conflist(pod_cidrs: list[str], *, ipam_dir: Path | None = None,
                    mtu: int | None = None) -> dict[str, Any]:
    """The conflist for ``pod_cidrs`` (one IPv4 and/or one IPv6 range).

    Raises:
        ValueError: no CIDR, or one that is not a network.
    """
    if not pod_cidrs:
        raise ValueError("a node needs a podCIDR for its pod network")
    ranges = []
    routes = []
    for cidr in pod_cidrs:
        net = ipaddress.ip_network(cidr, strict=False)
        ranges.append([{"subnet": str(net), "gateway": str(net.network_address + 1)}])
        routes.append({"dst": "0.0.0.0/0" if net.version == 4 else "::/0"})
    ipam: dict[str, Any] = {"type": "host-local", "ranges": ranges, "routes": routes}
    if ipam_dir is not None:
        ipam["dataDir"] = str(ipam_dir)
    bridge: dict[str, Any] = {
        "type": "bridge",
        "bridge": BRIDGE,
        "isGateway": True,
        "ipMasq": True,
        "hairpinMode": True,
        "forceAddress": True,
        "ipam": ipam,
    }
    if mtu:
        bridge["mtu"] = mtu
    return {
        "cniVersion": CNI_VERSION,
        "name": NETWORK_NAME,
        "plugins": [
            bridge,
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }


def write_conflist(conf_dir: Path, pod_cidrs: list[str], *, ipam_dir: Path | None = None,
                   mtu: int | None = None) -> bool:
    """Write the conflist into ``conf_dir`` when it changed; True if written."""
    text = json.dumps(bridge_conflist(pod_cidrs, ipam_dir=ipam_dir, mtu=mtu), indent=2) + "\n"
    path = conf_dir / CONFLIST_NAME
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    conf_dir.mkdir(parents=True, exist_ok=True)
    tmp = conf_dir / f".{CONFLIST_NAME}.tmp"
    tmp.write_text(text)
    os.replace(tmp, path)
    return True
