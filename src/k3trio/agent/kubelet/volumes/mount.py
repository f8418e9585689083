"""Host mounts the kubelet makes itself: tmpfs for memory-backed volumes, and unmounting.

Containers' bind mounts are made by the runtime inside the container's mount namespace; the
only mounts on the host are the tmpfs of ``emptyDir`` with ``medium: Memory`` and of secret
and projected volumes (so secrets never touch the disk). ``mountpoints_under`` reads
``/proc/self/mountinfo`` so teardown unmounts everything below a pod's directory before
removing it, deepest first, and never deletes through a mount.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from pathlib import Path

__all__ = ["is_mountpoint", "mount_tmpfs", "mountpoints_under", "unmount"]

MNT_DETACH = 2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _unescape(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mountpoints_under(root: Path) -> list[Path]:
    """Mount points at or below ``root``, deepest first."""
    prefix = str(root).rstrip("/")
    found: list[Path] = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 5:
                    continue
                point = _unescape(fields[4])
                if point == prefix or point.startswith(prefix + "/"):
                    found.append(Path(point))
    except OSError:
        return []
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def is_mountpoint(path: Path) -> bool:
    return path in mountpoints_under(path)


def mount_tmpfs(path: Path, *, size: int | None = None, mode: int = 0o777) -> None:
    """Mount a tmpfs on ``path`` (created if missing) unless one is mounted there already.

    Raises:
        OSError: the mount failed (e.g. not root).
    """
    path.mkdir(parents=True, exist_ok=True)
    if is_mountpoint(path):
        return
    opts = f"mode={mode:o}" + (f",size={size}" if size else "")
    rc = _libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", ctypes.c_ulong(0), opts.encode())
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount tmpfs on {path}: {os.strerror(err)}")


def unmount(path: Path) -> None:
    """Lazily unmount ``path``; not being mounted is fine.

    Raises:
        OSError: the unmount failed for another reason.
    """
    rc = _libc.umount2(os.fsencode(path), MNT_DETACH)
    if rc != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise OSError(err, f"unmount {path}: {os.strerror(err)}")
