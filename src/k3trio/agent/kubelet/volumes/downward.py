"""``downwardAPI`` volumes: pod fields and container resources as files.

Labels and annotations render as upstream's ``FormatMap``: one ``key="value"`` line per
entry, keys sorted, no trailing newline; single fields as their plain value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..env import EnvError, resource_value
from ..specs import field_ref
from .atomic import FileProjection
from .base import VolumeContext, VolumeError, file_mode
from .configmap import write

PLUGIN = "kubernetes.io~downward-api"


def _format_map(values: Mapping[str, Any]) -> str:
    return "\n".join(f"{k}={json.dumps(str(values[k]), ensure_ascii=False)}"
                     for k in sorted(values))


def field_value(ctx: VolumeContext, path: str) -> str:
    meta = ctx.pod.get("metadata") or {}
    if path == "metadata.labels":
        return _format_map(meta.get("labels") or {})
    if path == "metadata.annotations":
        return _format_map(meta.get("annotations") or {})
    return field_ref(ctx.pod, path, pod_ip=ctx.pod_ip, host_ip=ctx.host_ip)


def payload(ctx: VolumeContext, src: Mapping[str, Any]) -> dict[str, FileProjection]:
    """The files of a downwardAPI source.

    Raises:
        VolumeError: a resource reference cannot be resolved.
    """
    out: dict[str, FileProjection] = {}
    for item in src.get("items") or []:
        mode = file_mode(item, src.get("defaultMode"))
        if item.get("fieldRef"):
            text = field_value(ctx, str(item["fieldRef"].get("fieldPath")))
        elif item.get("resourceFieldRef"):
            ref = item["resourceFieldRef"]
            try:
                text = resource_value(ctx.pod, str(ref.get("containerName")),
                                      str(ref.get("resource")), ref.get("divisor"), ctx.node)
            except EnvError as exc:
                raise VolumeError(str(exc)) from exc
        else:
            continue
        out[str(item.get("path"))] = FileProjection(text.encode(), mode, ctx.fs_group)
    return out


async def setup(ctx: VolumeContext, volume: Mapping[str, Any], path: Path) -> Path:
    write(path, payload(ctx, volume.get("downwardAPI") or {}), ctx)
    return path
