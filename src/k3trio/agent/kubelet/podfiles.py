"""Files the kubelet manages for a pod outside its volumes: ``/etc/hosts`` and termination
messages.

``etc_hosts`` is upstream's managed hosts file (localhost entries, the pod's IP with its
hostname, or ``<hostname>.<subdomain>.<ns>.svc.<domain>`` with a subdomain, then
``hostAliases``). Termination messages: each container gets a host file bind-mounted at
``terminationMessagePath``; after the container exits ``termination_message`` reads at most
4096 bytes of it, or with ``FallbackToLogsOnError`` and a failed, silent container the last
80 lines (at most 2048 bytes) of its log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MAX_MESSAGE", "etc_hosts", "termination_message"]

MAX_MESSAGE = 4096
LOG_TAIL_LINES = 80
LOG_TAIL_BYTES = 2048


def etc_hosts(pod: Mapping[str, Any], pod_ip: str, cluster_domain: str = "cluster.local"
              ) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    lines = [
        "# Kubernetes-managed hosts file.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    hostname = str(spec.get("hostname") or meta.get("name") or "")[:63]
    if pod_ip:
        if spec.get("subdomain"):
            fqdn = f"{hostname}.{spec['subdomain']}.{meta.get('namespace')}.svc.{cluster_domain}"
            lines.append(f"{pod_ip}\t{fqdn}\t{hostname}")
        else:
            lines.append(f"{pod_ip}\t{hostname}")
    aliases = spec.get("hostAliases") or []
    if aliases:
        lines += ["", "# Entries added by HostAliases."]
        for a in aliases:
            lines.append(f"{a.get('ip')}\t" + "\t".join(a.get("hostnames") or []))
    return "\n".join(lines) + "\n"


def _log_tail(log_path: Path) -> str:
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            raw = f.read()
    except OSError:
        return ""
    messages = []
    for line in raw.decode("utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]:
        # CRI log format: <time> <stream> <P|F> <message>
        parts = line.split(" ", 3)
        if len(parts) == 4:
            messages.append(parts[3] + ("\n" if parts[2] == "F" else ""))
    text = "".join(messages)
    return text[-LOG_TAIL_BYTES:]


def termination_message(message_file: Path | None, log_path: Path | None, policy: str,
                        exit_code: int) -> str:
    """The ``terminated.message`` of an exited container (see module doc)."""
    text = ""
    if message_file is not None:
        try:
            with open(message_file, "rb") as f:
                text = f.read(MAX_MESSAGE).decode("utf-8", errors="replace")
        except OSError:
            text = ""
    if not text and policy == "FallbackToLogsOnError" and exit_code != 0 and log_path:
        text = _log_tail(log_path)
    return text
