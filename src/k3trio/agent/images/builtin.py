"""The images k3trio builds from host binaries: the sandbox (pause) image and a test image.

- ``pause_image``: ``/usr/bin/catatonit`` (Debian's ``catatonit``, statically linked) as
  ``/catatonit`` with entrypoint ``catatonit -P`` (pause mode: sleep and reap, as pause does).
  Pods start with no registry at all.
- ``busybox_image``: ``/bin/busybox`` (Debian's ``busybox-static``) with one symlink per
  applet in ``/bin``, a minimal ``/etc/passwd``/``/etc/group`` and ``/tmp``; cmd ``sh``.

Both are ``ImageSpec`` values; ``build_oci_archive`` turns them into tarballs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .oci import Entry, ImageSpec

__all__ = [
    "BUSYBOX_IMAGE",
    "PAUSE_IMAGE",
    "ImageSourceMissing",
    "busybox_applets",
    "busybox_image",
    "pause_image",
]

PAUSE_IMAGE = "docker.io/k3trio/pause:catatonit"
BUSYBOX_IMAGE = "docker.io/library/busybox:latest"

_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


class ImageSourceMissing(FileNotFoundError):
    """The host binary an image is built from is not installed."""


def _require(path: Path, package: str) -> None:
    if not path.is_file():
        raise ImageSourceMissing(f"{path} not found: install the Debian/Ubuntu package "
                                 f"{package}")


def pause_image(catatonit: Path = Path("/usr/bin/catatonit"),
                name: str = PAUSE_IMAGE) -> ImageSpec:
    """The sandbox image.

    Raises:
        ImageSourceMissing: catatonit is not installed.
    """
    _require(catatonit, "catatonit")
    return ImageSpec(
        name=name,
        entries=[Entry.host_file("catatonit", catatonit), Entry.text("etc/passwd", _PASSWD),
                 Entry.text("etc/group", _GROUP)],
        entrypoint=["/catatonit", "-P"],
        env=(),
        user="65535:65535",
    )


def busybox_applets(busybox: Path) -> list[str]:
    """The applet names ``busybox --list`` prints."""
    out = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True)
    return sorted({line.strip() for line in out.stdout.splitlines()
                   if line.strip() and "/" not in line})


def busybox_image(busybox: Path = Path("/bin/busybox"), name: str = BUSYBOX_IMAGE) -> ImageSpec:
    """A busybox image (a shell and the usual tools) for tests and debugging.

    Raises:
        ImageSourceMissing: busybox (static) is not installed.
    """
    _require(busybox, "busybox-static")
    entries = [Entry.host_file("bin/busybox", busybox),
               Entry.text("etc/passwd", _PASSWD), Entry.text("etc/group", _GROUP),
               Entry.directory("tmp", 0o1777), Entry.directory("root", 0o700),
               Entry.directory("home")]
    entries += [Entry.symlink(f"bin/{applet}", "busybox")
                for applet in busybox_applets(busybox) if applet != "busybox"]
    return ImageSpec(name=name, entries=entries, cmd=["sh"])
