"""Air-gap image import: every tarball in ``<data-dir>/agent/images`` into containerd.

As K3s does at agent start, each OCI layout or docker-archive tarball (``.tar``, also
compressed ``.tar.gz``/``.tgz``/``.tar.zst`` when ctr can read them) is imported into
containerd's ``k8s.io`` namespace (the CRI plugin's) with ``ctr images import``, which ships
with containerd. The built-in pause image is written there first (``ensure_builtin``) when
it is missing or out of date, so sandboxes start with no registry.

A tarball that fails to import is logged and skipped; the others still import.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import trio

from .builtin import pause_image
from .oci import ImageSpec, build_oci_archive

__all__ = ["IMAGE_SUFFIXES", "ImportError_", "ensure_archive", "ensure_builtin", "import_archive",
           "import_dir", "tarballs"]

log = logging.getLogger("k3trio.agent.images")

IMAGE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd", ".tar.lz4", ".tar.bz2")
NAMESPACE = "k8s.io"


class ImportError_(RuntimeError):  # noqa: N801 - avoid shadowing the builtin
    """``ctr images import`` failed."""


def tarballs(directory: Path) -> list[Path]:
    """The image tarballs in ``directory``, sorted by name (none if it does not exist)."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    return [directory / n for n in names
            if n.endswith(IMAGE_SUFFIXES) and not n.startswith(".")
            and (directory / n).is_file()]


def ensure_archive(path: Path, spec: ImageSpec) -> bool:
    """Write ``spec``'s tarball to ``path`` unless the same bytes are there; True if written."""
    data = build_oci_archive(spec)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def ensure_builtin(images_dir: Path, pause_name: str) -> Path:
    """Write the built-in pause image into ``images_dir``; its path.

    Raises:
        k3trio.agent.images.builtin.ImageSourceMissing: catatonit is not installed.
    """
    path = images_dir / "k3trio-pause.tar"
    ensure_archive(path, pause_image(name=pause_name))
    return path


async def import_archive(path: Path, socket: Path, ctr: str | None = None) -> None:
    """Import one tarball into the ``k8s.io`` namespace.

    Raises:
        ImportError_: ctr is missing or the import failed.
    """
    binary = ctr or shutil.which("ctr")
    if binary is None:
        raise ImportError_("ctr not found in PATH: install the Debian/Ubuntu package containerd")
    result = await trio.run_process(
        [binary, "--address", str(socket), "--namespace", NAMESPACE, "images", "import",
         str(path)],
        capture_stdout=True, capture_stderr=True, check=False,
    )
    if result.returncode != 0:
        err = result.stderr.decode(errors="replace").strip().splitlines()
        raise ImportError_(f"importing {path}: {err[-1] if err else result.returncode}")
    log.info("Imported images from %s", path)


async def import_dir(directory: Path, socket: Path) -> list[Path]:
    """Import every tarball in ``directory`` (concurrently); the ones that imported."""
    done: list[Path] = []

    async def one(path: Path) -> None:
        try:
            await import_archive(path, socket)
            done.append(path)
        except ImportError_ as exc:
            log.error("%s", exc)

    async with trio.open_nursery() as nursery:
        for path in tarballs(directory):
            nursery.start_soon(one, path)
    return sorted(done)
