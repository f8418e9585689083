"""Atomic projection of a set of files into a directory, as the kubelet's AtomicWriter.

A volume directory written by ``write_atomic`` looks like::

    <dir>/..2026_01_02_15_04_05.123456789/   the current payload (real files, nested dirs)
    <dir>/..data -> ..2026_01_02_15_04_05.123456789
    <dir>/key    -> ..data/key              one symlink per top-level entry of the payload

An update writes the whole new payload into a fresh timestamped directory, points a
temporary ``..data_tmp`` symlink at it and renames that over ``..data`` (``rename(2)`` is
atomic), then adds missing top-level symlinks, removes those no longer in the payload, and
removes the previous timestamped directory. A reader inside the container therefore sees
either the old or the new payload, never a mix, which is what lets ConfigMap and Secret
updates reach running pods.

Invariants: nothing is rewritten when the payload (contents and modes) did not change;
payload paths are relative, without ``..`` elements and without a leading ``..``; names
starting with ``..`` are reserved for the writer.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import attrs

__all__ = ["DATA_DIR", "FileProjection", "InvalidPayload", "write_atomic"]

DATA_DIR = "..data"
_DATA_TMP = "..data_tmp"


class InvalidPayload(ValueError):
    """A payload path is absolute, escapes the volume or uses a reserved name."""


@attrs.frozen
class FileProjection:
    """One file of a payload: its bytes and permission bits (and optional owner group)."""

    data: bytes
    mode: int = 0o644
    gid: int | None = None


def _check_path(path: str) -> None:
    if not path or path.startswith("/"):
        raise InvalidPayload(f"invalid path {path!r}: must be relative")
    parts = path.split("/")
    if ".." in parts:
        raise InvalidPayload(f"invalid path {path!r}: must not contain '..'")
    if parts[0].startswith(".."):
        raise InvalidPayload(f"invalid path {path!r}: must not start with '..'")


def _current(target: Path) -> Path | None:
    link = target / DATA_DIR
    try:
        return target / os.readlink(link)
    except OSError:
        return None


def _unchanged(current: Path, payload: Mapping[str, FileProjection]) -> bool:
    seen = 0
    for root, _, files in os.walk(current):
        for name in files:
            seen += 1
            full = Path(root, name)
            want = payload.get(str(full.relative_to(current)))
            if want is None:
                return False
            try:
                st = full.stat()
                if (st.st_mode & 0o7777) != want.mode or full.read_bytes() != want.data:
                    return False
            except OSError:
                return False
    return seen == len(payload)


def write_atomic(target: Path, payload: Mapping[str, FileProjection], *,
                 now: datetime | None = None) -> bool:
    """Make ``target`` hold exactly ``payload``; returns whether anything was written.

    Raises:
        InvalidPayload: a payload path is not allowed (see module doc).
        OSError: the filesystem refused a write.
    """
    for path in payload:
        _check_path(path)
    target.mkdir(parents=True, exist_ok=True)
    current = _current(target)
    if current is not None and current.is_dir() and _unchanged(current, payload):
        return False
    stamp = (now or datetime.now(UTC)).strftime("..%Y_%m_%d_%H_%M_%S.%f")
    fresh = target / stamp
    n = 0
    while fresh.exists():
        n += 1
        fresh = target / f"{stamp}{n}"
    fresh.mkdir(mode=0o755)
    os.chmod(fresh, 0o755)
    for path, item in payload.items():
        full = fresh / path
        full.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        full.write_bytes(item.data)
        os.chmod(full, item.mode)
        if item.gid is not None:
            os.chown(full, -1, item.gid)
    tmp = target / _DATA_TMP
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(fresh.name, tmp)
    os.rename(tmp, target / DATA_DIR)
    tops = {path.split("/", 1)[0] for path in payload}
    for name in tops:
        link = target / name
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link) if link.is_dir() else link.unlink()
            os.symlink(f"{DATA_DIR}/{name}", link)
    for entry in os.listdir(target):
        if entry.startswith(".."):
            continue
        if entry not in tops and (target / entry).is_symlink():
            (target / entry).unlink()
    if current is not None and current.name != fresh.name and current.is_dir():
        shutil.rmtree(current, ignore_errors=True)
    for entry in os.listdir(target):
        # leftovers of an interrupted write
        if entry.startswith("..") and entry not in (DATA_DIR, fresh.name):
            leftover = target / entry
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
    return True
