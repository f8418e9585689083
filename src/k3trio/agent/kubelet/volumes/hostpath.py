"""``hostPath``: a path of the node, checked (or created) per ``type`` as upstream does::

    ""                   no check
    DirectoryOrCreate    created 0755 with its parents when missing; must be a directory
    Directory            must be a directory
    FileOrCreate         created empty 0644 when missing (its directory must exist)
    File                 must be a regular file
    Socket, CharDevice, BlockDevice   must be one
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .base import VolumeContext, VolumeError

_CHECKS = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


def check(path: Path, kind: str) -> None:
    """Apply the ``type`` rules to ``path``.

    Raises:
        VolumeError: the path is not of that type (upstream's message).
    """
    if kind == "DirectoryOrCreate":
        try:
            path.mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError as exc:
            raise VolumeError(f"hostPath type check failed: {path} is not a directory") from exc
        kind = "Directory"
    elif kind == "FileOrCreate":
        if not path.exists():
            try:
                path.touch(mode=0o644)
            except OSError as exc:
                raise VolumeError(f"hostPath type check failed: {path} is not a file") from exc
        kind = "File"
    if kind not in _CHECKS:
        return
    test, what = _CHECKS[kind]
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    if not test(mode):
        raise VolumeError(f"hostPath type check failed: {path} is not {what}")


async def setup(ctx: VolumeContext, volume: Mapping[str, Any], path: Path) -> Path:
    src = volume.get("hostPath") or {}
    host = Path(str(src.get("path") or "/"))
    check(host, str(src.get("type") or ""))
    return host
