"""``k3trio hollow-nodes``: run N simulated kubelets in one process against a cluster.

    k3trio hollow-nodes --count 100 --kubeconfig /etc/k3trio/k3trio.yaml

Nodes are named ``<name-prefix><i>`` (``hollow-node-0`` ...), get InternalIPs from
``--node-ip-range`` in order, and report ``--cpu``/``--memory``/``--pods`` as capacity. The
process runs until SIGINT/SIGTERM; stopping it leaves the Leases to expire, as a stopped
kubelet does (the node lifecycle controller then marks the nodes NotReady).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
from functools import partial
from typing import Any

import trio

__all__ = ["add_arguments", "build_configs", "parse_taint", "run"]

log = logging.getLogger("k3trio.hollow")

HELP = "run simulated (hollow) kubelets that register nodes and run pods without containers"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class HollowUsageError(Exception):
    """A bad flag value (reported on one line, exit status 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, required=True, metavar="N",
                        help="number of hollow nodes to run")
    parser.add_argument("--kubeconfig", metavar="FILE",
                        default=os.environ.get("KUBECONFIG") or None,
                        help="kubeconfig to connect with [$KUBECONFIG]")
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    parser.add_argument("--cpu", default="4", metavar="QUANTITY",
                        help="CPU capacity of each node (default: 4)")
    parser.add_argument("--memory", default="16Gi", metavar="QUANTITY",
                        help="memory capacity of each node (default: 16Gi)")
    parser.add_argument("--pods", "--max-pods", dest="pods", type=int, default=110, metavar="N",
                        help="pod capacity of each node (default: 110)")
    parser.add_argument("--ephemeral-storage", default="100Gi", metavar="QUANTITY",
                        help="ephemeral-storage capacity of each node (default: 100Gi)")
    parser.add_argument("--name-prefix", default="hollow-node-", metavar="PREFIX",
                        help="node names are PREFIX0, PREFIX1, ... (default: hollow-node-)")
    parser.add_argument("--start-index", type=int, default=0, metavar="I",
                        help="number of the first node (default: 0)")
    parser.add_argument("--node-ip-range", default="172.30.0.0/16", metavar="CIDR",
                        help="InternalIPs of the nodes are taken from CIDR in order "
                             "(default: 172.30.0.0/16)")
    parser.add_argument("--node-label", action="append", default=[], metavar="LABEL",
                        help="register the nodes with this label (key=value; repeatable)")
    parser.add_argument("--node-taint", action="append", default=[], metavar="TAINT",
                        help="register the nodes with this taint (key=value:Effect; repeatable)")
    parser.add_argument("--workers", type=int, default=32, metavar="N",
                        help="concurrent pod status writers (default: 32)")
    parser.add_argument("--node-lease-duration-seconds", type=int, default=40, metavar="S",
                        help="duration of the node Leases; renewed every quarter of it "
                             "(default: 40)")
    parser.add_argument("--node-status-update-frequency", type=float, default=10.0,
                        metavar="S", help="seconds between node status checks (default: 10)")
    parser.add_argument("--no-events", action="store_true", help="do not record node events")
    parser.add_argument("--debug", action="store_true", help="turn on debug logs")


def parse_taint(text: str) -> dict[str, str]:
    """``key[=value]:Effect`` as a taint.

    Raises:
        HollowUsageError: malformed.
    """
    spec, sep, effect = text.rpartition(":")
    if not sep or not spec:
        raise HollowUsageError(f"invalid taint {text!r}: expected key=value:Effect")
    if effect not in TAINT_EFFECTS:
        raise HollowUsageError(
            f"invalid taint {text!r}: effect must be one of {', '.join(TAINT_EFFECTS)}")
    key, _, value = spec.partition("=")
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


def _parse_label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise HollowUsageError(f"invalid label {text!r}: expected key=value")
    return key, value


def build_configs(args: argparse.Namespace) -> list[Any]:
    """One ``NodeConfig`` per node from the flags.

    Raises:
        HollowUsageError: a bad flag value.
    """
    from ..agent.node import NodeConfig
    from ..agent.node.registration import kubelet_resource
    from ..api.quantity import QuantityError

    if args.count < 1:
        raise HollowUsageError("--count must be at least 1")
    if args.pods < 1:
        raise HollowUsageError("--pods must be at least 1")
    if args.node_lease_duration_seconds < 1:
        raise HollowUsageError("--node-lease-duration-seconds must be at least 1")
    if args.node_status_update_frequency <= 0:
        raise HollowUsageError("--node-status-update-frequency must be positive")
    if args.workers < 1:
        raise HollowUsageError("--workers must be at least 1")
    for flag, value in (("--cpu", args.cpu), ("--memory", args.memory),
                        ("--ephemeral-storage", args.ephemeral_storage)):
        try:
            kubelet_resource(flag[2:], value)
        except QuantityError:
            raise HollowUsageError(f"invalid {flag} {value!r}: not a quantity") from None
    try:
        ip_range = ipaddress.ip_network(args.node_ip_range, strict=False)
    except ValueError:
        raise HollowUsageError(f"invalid --node-ip-range {args.node_ip_range!r}") from None
    hosts = ip_range.num_addresses - 2 if ip_range.num_addresses > 2 else ip_range.num_addresses
    if args.start_index + args.count > hosts:
        raise HollowUsageError(f"--node-ip-range {ip_range} has room for {hosts} nodes only")
    labels = dict(_parse_label(t) for t in args.node_label)
    taints = tuple(parse_taint(t) for t in args.node_taint)
    first = ip_range.network_address + (1 if ip_range.num_addresses > 2 else 0)
    out = []
    for i in range(args.start_index, args.start_index + args.count):
        name = f"{args.name_prefix}{i}"
        out.append(NodeConfig(
            name=name, cpu=args.cpu, memory=args.memory, pods=args.pods,
            ephemeral_storage=args.ephemeral_storage, internal_ip=str(first + i),
            labels=labels, taints=taints, provider_id=f"k3trio://{name}",
            container_runtime_version="containerd://2.1.4-k3trio1-hollow",
        ))
    return out


async def _serve(args: argparse.Namespace, configs: list[Any]) -> int:
    from ..client import Client
    from ..hollow import HollowCluster

    client = Client.from_kubeconfig(args.kubeconfig, context=args.context,
                                    component="hollow-kubelet")
    async with client:
        cluster = HollowCluster(
            client, configs, workers=args.workers, events=not args.no_events,
            status_update_period=args.node_status_update_frequency,
            lease_duration=args.node_lease_duration_seconds,
        )
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(cluster.run)
                async for signum in signals:
                    log.info("Received %s, stopping %d hollow nodes",
                             signal.Signals(signum).name, len(configs))
                    break
                nursery.cancel_scope.cancel()
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the hollow nodes until a signal; returns the exit status."""
    from ..client import ConfigError
    from ..logs import setup_logging

    try:
        configs = build_configs(args)
        from ..client import ClientConfig

        ClientConfig.from_kubeconfig(args.kubeconfig, context=args.context)
    except HollowUsageError as exc:
        print(f"k3trio hollow-nodes: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"k3trio hollow-nodes: {exc}", file=sys.stderr)
        return 1
    setup_logging(args.debug)
    return trio.run(partial(_serve, args, configs))
