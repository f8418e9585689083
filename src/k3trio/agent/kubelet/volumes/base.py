"""What every volume plugin gets and raises.

A plugin is ``async def setup(ctx, volume, path) -> Path``: it makes the volume's content
exist for ``ctx.pod`` (at ``path``, the volume's directory under the pod, or elsewhere for
host paths) and returns the host path containers bind-mount. Setup is idempotent and is
called again on every pod sync, which is how updates reach running pods.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ..env import NodeResources
from .sources import ObjectCache
from .tokens import TokenManager

__all__ = ["VolumeContext", "VolumeError", "file_mode"]

Obj = dict[str, Any]


class VolumeError(Exception):
    """A volume cannot be set up; the message is the cause upstream reports."""


@attrs.frozen
class VolumeContext:
    pod: Mapping[str, Any]
    cache: ObjectCache
    tokens: TokenManager
    now: datetime
    node: NodeResources = NodeResources()
    pod_ip: str = ""
    host_ip: str = ""
    memory_backed: bool = True

    @property
    def namespace(self) -> str:
        return str((self.pod.get("metadata") or {}).get("namespace"))

    @property
    def fs_group(self) -> int | None:
        value = ((self.pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
        return int(value) if value is not None else None


def file_mode(item: Mapping[str, Any] | None, default: Any) -> int:
    """An item's ``mode``, else the volume's ``defaultMode``, else 0644."""
    if item is not None and item.get("mode") is not None:
        return int(item["mode"]) & 0o7777
    return int(default) & 0o7777 if default is not None else 0o644
