"""klog-style diagnostic lines (``W1124 22:17:48.295959   11462 file.go:71] message``), used
where kubectl logs a warning through klog instead of printing ``Warning:``."""

from __future__ import annotations

import os
import time
from typing import IO

__all__ = ["warning"]


def _line(level: str, where: str, message: str) -> str:
    now = time.time()
    t = time.gmtime(now)
    micros = int((now % 1) * 1_000_000)
    stamp = time.strftime("%m%d %H:%M:%S", t)
    return f"{level}{stamp}.{micros:06d} {os.getpid():7d} {where}] {message}\n"


def warning(err: IO[str], where: str, message: str) -> None:
    err.write(_line("W", where, message))
