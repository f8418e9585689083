"""``secret`` volumes: the Secret's decoded ``data`` (or the listed ``items``) as files, on a
tmpfs when memory-backed, written atomically so updates reach running pods."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import configmap
from .base import VolumeContext, VolumeError
from .mount import mount_tmpfs
from .sources import SECRETS

PLUGIN = "kubernetes.io~secret"


def values(secret: Mapping[str, Any]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[str(k)] = base64.b64decode(v)
        except (ValueError, TypeError):
            out[str(k)] = b""
    return out


def prepare(ctx: VolumeContext, path: Path) -> None:
    """Make ``path`` a tmpfs when secrets are memory-backed."""
    if ctx.memory_backed:
        try:
            mount_tmpfs(path, size=ctx.node.memory, mode=0o755)
        except OSError as exc:
            raise VolumeError(str(exc)) from exc


async def setup(ctx: VolumeContext, volume: Mapping[str, Any], path: Path) -> Path:
    src = volume.get("secret") or {}
    obj = await ctx.cache.get(SECRETS, ctx.namespace, str(src.get("secretName")))
    files = configmap.payload(src, obj, default_mode=src.get("defaultMode"),
                              fs_group=ctx.fs_group, kind="secret",
                              values=values(obj) if obj is not None else None)
    prepare(ctx, path)
    configmap.write(path, files, ctx)
    return path
