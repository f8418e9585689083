"""OCI image tarballs built from host files, in pure Python (no registry, no docker).

An image here is one layer: a gzip'd tar of a small root filesystem described by
``Entry`` values (directories, files copied from the host, symlinks). ``build_oci_archive``
returns the bytes of an OCI image layout tarball::

    oci-layout                      {"imageLayoutVersion": "1.0.0"}
    index.json                      one manifest, annotated with the image's full name
    blobs/sha256/<layer>            tar.gz of the root filesystem
    blobs/sha256/<config>           image config (entrypoint, cmd, env, workdir, rootfs.diff_ids)
    blobs/sha256/<manifest>         OCI manifest (config + one layer)

``ctr images import`` (and the agent's air-gap import) accepts it as is. Invariants: output
is reproducible (mtimes 0, owner root, entries sorted, gzip without timestamp), so the same
inputs always give the same digests; ``diff_ids`` is the sha256 of the uncompressed tar.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..node.registration import go_arch

__all__ = ["Entry", "ImageSpec", "build_layer", "build_oci_archive"]

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"


@attrs.frozen
class Entry:
    """One path in a layer: ``kind`` is ``dir``, ``file`` (``data``) or ``symlink`` (``target``)."""

    path: str
    kind: str = "file"
    mode: int = 0o644
    data: bytes = b""
    target: str = ""

    @classmethod
    def directory(cls, path: str, mode: int = 0o755) -> Entry:
        return cls(path, "dir", mode)

    @classmethod
    def host_file(cls, path: str, source: Path | str, mode: int = 0o755) -> Entry:
        return cls(path, "file", mode, Path(source).read_bytes())

    @classmethod
    def text(cls, path: str, text: str, mode: int = 0o644) -> Entry:
        return cls(path, "file", mode, text.encode())

    @classmethod
    def symlink(cls, path: str, target: str) -> Entry:
        return cls(path, "symlink", 0o777, target=target)


@attrs.frozen
class ImageSpec:
    """What goes into an image's config."""

    name: str
    entries: Sequence[Entry]
    entrypoint: Sequence[str] = ()
    cmd: Sequence[str] = ()
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    working_dir: str = "/"
    user: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    architecture: str = attrs.field(factory=go_arch)


def _parents(entries: Iterable[Entry]) -> list[Entry]:
    """Directory entries for every parent not listed explicitly."""
    listed = {e.path.strip("/") for e in entries}
    missing: set[str] = set()
    for e in entries:
        parts = e.path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in listed:
                missing.add(d)
    return [Entry.directory(d) for d in sorted(missing)]


def build_layer(entries: Sequence[Entry]) -> tuple[bytes, str]:
    """``(tar bytes, "sha256:<diff id>")`` of a reproducible, uncompressed layer tar."""
    all_entries = sorted([*entries, *_parents(entries)], key=lambda e: e.path.strip("/"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in all_entries:
            info = tarfile.TarInfo(e.path.strip("/"))
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = e.mode
            if e.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif e.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = e.target
                tar.addfile(info)
            elif e.kind == "file":
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            else:
                raise ValueError(f"unknown entry kind {e.kind!r} for {e.path}")
    raw = buf.getvalue()
    return raw, "sha256:" + hashlib.sha256(raw).hexdigest()


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def build_oci_archive(spec: ImageSpec) -> bytes:
    """The OCI image layout tarball of ``spec`` (see the module docstring)."""
    raw, diff_id = build_layer(spec.entries)
    layer = gzip.compress(raw, compresslevel=6, mtime=0)
    container_config: dict[str, Any] = {"Env": list(spec.env), "WorkingDir": spec.working_dir}
    if spec.entrypoint:
        container_config["Entrypoint"] = list(spec.entrypoint)
    if spec.cmd:
        container_config["Cmd"] = list(spec.cmd)
    if spec.user:
        container_config["User"] = spec.user
    if spec.labels:
        container_config["Labels"] = dict(spec.labels)
    config = _json({
        "architecture": spec.architecture,
        "os": "linux",
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": f"k3trio image builder: {spec.name}"}],
    })
    manifest = _json({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": _digest(layer), "size": len(layer)}],
    })
    tag = spec.name.rsplit(":", 1)[1] if ":" in spec.name.rsplit("/", 1)[-1] else "latest"
    index = _json({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            "mediaType": MEDIA_MANIFEST,
            "digest": _digest(manifest),
            "size": len(manifest),
            "platform": {"architecture": spec.architecture, "os": "linux"},
            "annotations": {
                "io.containerd.image.name": spec.name,
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    })
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
        for blob in (layer, config, manifest):
            _add(tar, "blobs/sha256/" + _digest(blob).split(":", 1)[1], blob)
        _add(tar, "index.json", index)
    return out.getvalue()
