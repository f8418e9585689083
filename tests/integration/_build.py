"""Build the single file once and share it between tests (and test processes).

``build_once()`` returns the path of ``dist/k3trio-<arch>`` for this machine, running
``build/shiv.sh`` only when the file is missing or its inputs changed since it was
built: a fingerprint of the inputs (the k3trio sources, ``arch/`` and the build scripts)
is kept beside the build's work files, and a file lock under ``build/_work`` makes
concurrent callers wait for one build instead of racing.

Tests that need the file should call ``built_k3trio_or_skip()``, which honours
``K3TRIO_SKIP_BUILD=1`` with a pytest skip.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import platform
import struct
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "_work"
SKIP_ENV = "K3TRIO_SKIP_BUILD"


class BuildError(Exception):
    """build/shiv.sh failed; the message carries its output."""


def host_arch() -> str:
    from k3trio._frozen import normalise_machine

    return normalise_machine(platform.machine(), struct.calcsize("P") * 8)


def _inputs(arch: str) -> list[Path]:
    files = [
        ROOT / "build" / "shiv.sh",
        ROOT / "build" / "stage.py",
        ROOT / "arch" / "pythons",
        *sorted((ROOT / "arch" / arch).glob("*")),
    ]
    for path in sorted((ROOT / "src" / "k3trio").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path)
    return files


def fingerprint(arch: str) -> str:
    """A hash of everything the built file is made from (pins stand for the wheels)."""
    digest = hashlib.sha256()
    for path in _inputs(arch):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def build_once(arch: str | None = None) -> Path:
    """Path of the built ``dist/k3trio-<arch>``, built now if it is missing or stale.

    Raises:
        BuildError: the build failed (its output is in the message).
    """
    arch = arch or host_arch()
    output = ROOT / "dist" / f"k3trio-{arch}"
    stamp = WORK / f"{arch}.fingerprint"
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        want = fingerprint(arch)
        if output.exists() and stamp.exists() and stamp.read_text() == want:
            return output
        proc = subprocess.run(
            ["bash", str(ROOT / "build" / "shiv.sh"), arch],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or not output.exists():
            raise BuildError(
                f"build/shiv.sh {arch} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        stamp.write_text(want)
        return output


def built_k3trio_or_skip() -> Path:
    """``build_once()`` for tests: a pytest skip when ``K3TRIO_SKIP_BUILD=1``."""
    import pytest

    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: not building the single file")
    return build_once()
