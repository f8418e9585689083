"""The command-line flags of ``k3trio server`` and ``k3trio agent``, as data.

One table drives argparse, the environment variables and the config-file keys, so a flag
and its config key can never disagree. Names are K3s's where K3s has the same setting.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Literal

import attrs

Kind = Literal["str", "int", "bool", "list", "path"]


@attrs.frozen
class Flag:
    name: str
    kind: Kind
    help: str
    commands: tuple[str, ...] = ("server",)
    short: str | None = None
    env: str | None = None
    metavar: str | None = None


BOTH = ("server", "agent")

FLAGS: tuple[Flag, ...] = (
    Flag("config", "path", "load configuration from FILE (default: /etc/k3trio/config.yaml)",
         BOTH, short="-c", env="K3TRIO_CONFIG_FILE", metavar="FILE"),
    Flag("debug", "bool", "turn on debug logs", BOTH),
    Flag("data-dir", "path",
         "folder to hold state (default: /var/lib/k3trio, or ~/.k3trio if not root)",
         BOTH, short="-d", metavar="DIR"),
    # Listener and certificates
    Flag("https-listen-port", "int", "HTTPS listen port (default: 6443)", metavar="PORT"),
    Flag("bind-address", "str", "k3trio bind address (default: 0.0.0.0)", metavar="IP"),
    Flag("advertise-address", "str",
         "IP address that the API server uses to advertise to members of the cluster "
         "(default: node-ip)", metavar="IP"),
    Flag("tls-san", "list",
         "add additional hostnames or IPv4/IPv6 addresses as Subject Alternative Names on the "
         "server TLS cert (repeatable)", metavar="NAME"),
    Flag("write-kubeconfig", "path",
         "write kubeconfig for admin client to this file (default: /etc/k3trio/k3trio.yaml "
         "as root, else <data-dir>/kubeconfig.yaml)", short="-o", env="K3TRIO_KUBECONFIG_OUTPUT",
         metavar="FILE"),
    Flag("write-kubeconfig-mode", "str", "write kubeconfig with this mode (default: 0600)",
         env="K3TRIO_KUBECONFIG_MODE", metavar="MODE"),
    Flag("token", "str", "shared secret used to join a server or agent to a cluster", BOTH,
         short="-t", env="K3TRIO_TOKEN"),
    # Networking
    Flag("cluster-cidr", "str", "IPv4 network CIDR to use for pod IPs (default: 10.42.0.0/16)",
         metavar="CIDR"),
    Flag("service-cidr", "str",
         "IPv4 network CIDR to use for service IPs (default: 10.43.0.0/16)", metavar="CIDR"),
    Flag("service-node-port-range", "str",
         "port range to reserve for services with NodePort visibility (default: 30000-32767)",
         metavar="RANGE"),
    Flag("cluster-dns", "str",
         "IPv4 cluster IP for the cluster DNS service; should be in your service-cidr range "
         "(default: 10.43.0.10)", metavar="IP"),
    Flag("cluster-domain", "str", "cluster domain (default: cluster.local)", metavar="DOMAIN"),
    # Components
    Flag("disable-agent", "bool", "do not run a local agent and register a local kubelet"),
    Flag("disable", "list",
         "do not deploy packaged components and delete any deployed components "
         "(valid items: controllers, scheduler, coredns, servicelb, metrics-server, local-storage, "
         "network-policy, kube-proxy, or a single controller name; repeatable)", metavar="NAME"),
    Flag("datastore-endpoint", "str",
         "datastore endpoint: sqlite (default, embedded), or etcd (etcd://host:2379)",
         env="K3TRIO_DATASTORE_ENDPOINT", metavar="URL"),
    # Agent
    Flag("server", "str", "server to connect to (https://HOST:6443)", ("agent",),
         short="-s", env="K3TRIO_URL", metavar="URL"),
    Flag("node-name", "str", "node name (default: the hostname)", BOTH,
         env="K3TRIO_NODE_NAME"),
    Flag("node-ip", "str", "IP address to advertise for the node", BOTH, short="-i",
         metavar="IP"),
    Flag("node-label", "list", "register the node with this label (key=value; repeatable)",
         BOTH, metavar="LABEL"),
    Flag("node-taint", "list",
         "register the node with this taint (key=value:Effect; repeatable)", BOTH,
         metavar="TAINT"),
    Flag("container-runtime-endpoint", "str",
         "use this existing CRI socket instead of starting containerd", BOTH, metavar="SOCKET"),
    Flag("kubelet-arg", "list",
         "customized flag for the kubelet (key=value; repeatable; supported: port)", BOTH,
         metavar="ARG"),
    Flag("pause-image", "str", "image used for pod sandboxes", ("agent",), metavar="IMAGE"),
)


def flags_for(command: str) -> list[Flag]:
    return [f for f in FLAGS if command in f.commands]


def add_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """Add every flag of ``command``; unset flags stay absent from the namespace."""
    for flag in flags_for(command):
        names = [f"--{flag.name}"] + ([flag.short] if flag.short else [])
        help_text = flag.help + (f" [${flag.env}]" if flag.env else "")
        kwargs: dict[str, Any] = {"dest": flag.name, "default": argparse.SUPPRESS,
                                  "help": help_text}
        if flag.kind == "bool":
            kwargs["action"] = "store_true"
        elif flag.kind == "list":
            kwargs["action"] = "append"
            kwargs["metavar"] = flag.metavar or "VALUE"
        else:
            kwargs["metavar"] = flag.metavar or "VALUE"
            if flag.kind == "int":
                kwargs["type"] = int
        parser.add_argument(*names, **kwargs)


def from_environment(command: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Values for ``command``'s flags taken from their environment variables."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    for flag in flags_for(command):
        if flag.env and environ.get(flag.env):
            values[flag.name] = environ[flag.env]
    return values
