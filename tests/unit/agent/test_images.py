"""OCI image tarballs built in pure Python."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from k3trio.agent.images import (
    Entry,
    ImageSpec,
    build_layer,
    build_oci_archive,
    busybox_image,
    ensure_archive,
    pause_image,
    tarballs,
)
from k3trio.agent.images.builtin import ImageSourceMissing


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _blob(files: dict[str, bytes], digest: str) -> bytes:
    data = files["blobs/sha256/" + digest.split(":", 1)[1]]
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def _spec() -> ImageSpec:
    return ImageSpec(name="example.com/t/app:v1",
                     entries=[Entry.text("etc/hello", "hi\n"), Entry.symlink("bin/sh", "busybox"),
                              Entry("bin/busybox", data=b"\x7fELF", mode=0o755)],
                     entrypoint=["/bin/sh"], cmd=["-c", "true"], architecture="amd64")


def test_layout_is_a_valid_oci_image() -> None:
    files = _members(build_oci_archive(_spec()))
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    (desc,) = index["manifests"]
    assert desc["annotations"]["io.containerd.image.name"] == "example.com/t/app:v1"
    assert desc["annotations"]["org.opencontainers.image.ref.name"] == "v1"
    assert desc["platform"] == {"architecture": "amd64", "os": "linux"}
    manifest = json.loads(_blob(files, desc["digest"]))
    config = json.loads(_blob(files, manifest["config"]["digest"]))
    layer = _blob(files, manifest["layers"][0]["digest"])
    raw = gzip.decompress(layer)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(raw).hexdigest()]
    assert config["config"]["Entrypoint"] == ["/bin/sh"]
    assert config["config"]["Cmd"] == ["-c", "true"]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        names = tar.getnames()
        assert names == sorted(names)
        assert {"bin", "etc", "bin/sh", "bin/busybox", "etc/hello"} <= set(names)
        sh = tar.getmember("bin/sh")
        assert sh.issym() and sh.linkname == "busybox"
        assert tar.getmember("bin/busybox").mode == 0o755
        assert all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers())


def test_builds_are_reproducible() -> None:
    assert build_oci_archive(_spec()) == build_oci_archive(_spec())
    assert build_layer(_spec().entries)[1] == build_layer(_spec().entries)[1]


def test_pause_image_from_catatonit(tmp_path: Path) -> None:
    fake = tmp_path / "catatonit"
    fake.write_bytes(b"binary")
    spec = pause_image(fake)
    assert spec.entrypoint == ["/catatonit", "-P"]
    assert any(e.path == "catatonit" and e.data == b"binary" for e in spec.entries)
    with pytest.raises(ImageSourceMissing, match="catatonit"):
        pause_image(tmp_path / "missing")


@pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static not installed")
def test_busybox_image_has_applet_links() -> None:
    spec = busybox_image()
    links = {e.path: e.target for e in spec.entries if e.kind == "symlink"}
    assert links["bin/sh"] == "busybox"
    assert "bin/sleep" in links


def test_ensure_archive_and_listing(tmp_path: Path) -> None:
    path = tmp_path / "images" / "app.tar"
    assert ensure_archive(path, _spec()) is True
    assert ensure_archive(path, _spec()) is False
    (tmp_path / "images" / "notes.txt").write_text("x")
    (tmp_path / "images" / "more.tar.gz").write_bytes(b"")
    assert [p.name for p in tarballs(tmp_path / "images")] == ["app.tar", "more.tar.gz"]
    assert tarballs(tmp_path / "nope") == []
