"""``emptyDir``: a fresh directory (mode 0777) per pod, on disk or, for ``medium: Memory``,
on a tmpfs sized by ``sizeLimit``. Removed with the pod."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ....api.quantity import QuantityError, parse_quantity
from .base import VolumeContext, VolumeError
from .mount import mount_tmpfs

PLUGIN = "kubernetes.io~empty-dir"


async def setup(ctx: VolumeContext, volume: Mapping[str, Any], path: Path) -> Path:
    src = volume.get("emptyDir") or {}
    medium = str(src.get("medium") or "")
    if medium == "Memory":
        size = None
        if src.get("sizeLimit"):
            try:
                size = parse_quantity(str(src["sizeLimit"])).value()
            except QuantityError as exc:
                raise VolumeError(f"invalid sizeLimit: {exc}") from exc
        try:
            mount_tmpfs(path, size=size or ctx.node.memory)
        except OSError as exc:
            raise VolumeError(str(exc)) from exc
    elif medium:
        raise VolumeError(f"unsupported medium {medium!r}")
    else:
        path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o777)
    return path
