"""``k3trio agent``: join a node to a cluster."""

from __future__ import annotations

import sys

from .config import AgentConfig, ConfigError


def run_agent(cfg: AgentConfig) -> int:
    """Run the node agent. The kubelet on containerd is not part of this release yet."""
    if not cfg.server:
        raise ConfigError("agent needs --server https://HOST:6443 (or K3TRIO_URL)")
    if not cfg.token:
        raise ConfigError("agent needs --token (or K3TRIO_TOKEN)")
    print("k3trio: the node agent is not available in this release", file=sys.stderr)
    return 1
