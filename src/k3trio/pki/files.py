"""Small, careful file primitives for secrets: private directories and atomic writes.

Invariants:
- A reader never sees a half-written file: content goes to a temporary file in the same
  directory, is flushed and fsynced, then renamed over the target (``rename`` is atomic on
  POSIX within one filesystem); the directory is fsynced afterwards so the rename survives a
  crash.
- The final file has exactly the requested mode, regardless of the process umask and of the
  mode a previous version of the file had (the temporary file is created with ``O_EXCL`` and
  ``fchmod``-ed before any byte is written, so secrets are never world-readable, not even
  briefly).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) and make sure it is mode 0700.

    Parents that must be created get the default mode; only ``path`` itself is tightened.
    """
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if (path.stat().st_mode & 0o7777) != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)


def atomic_write(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Atomically replace ``path`` with ``data``, leaving it with permission bits ``mode``.

    Raises:
        OSError: the directory does not exist or is not writable.
    """
    directory = path.parent
    tmp = directory / f".{path.name}.tmp-{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def read_optional(path: Path) -> bytes | None:
    """The content of ``path``, or None if it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def ensure_mode(path: Path, mode: int) -> None:
    """Tighten (or restore) the permission bits of an existing file."""
    if (path.stat().st_mode & 0o7777) != mode:
        os.chmod(path, mode)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
