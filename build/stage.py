#!/usr/bin/env python3
"""Lay out the site-packages tree that ``build/shiv.sh`` packs into the zipapp.

Unpacks the downloaded wheels of every carried CPython version into one directory,
copies the k3trio package beside them and writes ``k3trio/_buildinfo.py``.

Invariants:

* Wheels for different CPython versions unpack side by side: extension modules carry
  their ABI tag in the file name (``*.cpython-312-x86_64-linux-gnu.so``, ``*.abi3.so``),
  and every other file of a distribution is identical across versions because all
  versions share one pinned release. A file that differs anyway is a build error, except
  for ``*.dist-info`` metadata (the ``WHEEL`` tag lists differ), where the first copy wins.
* Every version-specific extension module exists for every carried CPython version, so
  the file never imports a module on one interpreter that it lacks on another.
* Only what runs is packed: no tests, byte code, type stubs, C sources, headers,
  ``.proto`` sources, packaging tools or install records. Licence files are kept.
* Shared objects are stripped of symbols nothing links against (``strip --strip-unneeded``,
  what distributions do for shared libraries): many wheels ship them with debug info,
  several times their stripped size. A binary that ``strip`` cannot handle (a foreign
  architecture without multi-arch binutils) is packed as it is, with a warning.
* Nothing in the source tree is modified; the build info is written into the staging copy.

Usage: ``stage.py --arch ARCH --wheels DIR --out DIR --src DIR --pythons 3.11,3.12,...``
where DIR for wheels holds one sub-directory of ``.whl`` files per CPython version.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

#: Path components never packed, wherever they appear.
SKIP_PARTS = frozenset({"__pycache__", "tests", "_tests", "test"})
#: File suffixes never packed.
SKIP_SUFFIXES = frozenset({".pyc", ".pyo", ".pyi", ".c", ".h", ".cpp", ".pyx", ".pxd", ".proto"})
#: Top-level names never packed (packaging and test tools, should a wheel bring them).
SKIP_TOP = frozenset({
    "pip", "setuptools", "wheel", "pkg_resources", "_distutils_hack", "pytest", "_pytest",
    "hypothesis", "distutils-precedence.pth", "bin",
})
#: Sub-trees of particular distributions that nothing imports (apsw's SQLite command-line
#: tools and loadable extensions, built per interpreter).
SKIP_PREFIXES = ("apsw/sqlite_extra_binaries/",)
#: dist-info files that describe an installation, not the distribution.
SKIP_DIST_INFO = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})

EXT_RE = re.compile(r"^(?P<stem>.+)\.cpython-(?P<ver>3\d+)-[^/]+\.so$")
MANYLINUX_RE = re.compile(r"manylinux_(\d+)_(\d+)_")
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


class StageError(Exception):
    """The wheels cannot be combined into one tree."""


def keep(rel: PurePosixPath) -> bool:
    parts = rel.parts
    if not parts or parts[0] in SKIP_TOP:
        return False
    if parts[0].endswith(".dist-info") and parts[0].split("-")[0].lower() in SKIP_TOP:
        return False
    if str(rel).startswith(SKIP_PREFIXES):
        return False
    if any(p in SKIP_PARTS for p in parts):
        return False
    if rel.suffix in SKIP_SUFFIXES:
        return False
    if parts[0].endswith(".dist-info") and len(parts) == 2 and parts[1] in SKIP_DIST_INFO:
        return False
    return True


def install_path(name: str) -> PurePosixPath | None:
    """Where a wheel member goes in site-packages (None: not installed as a library)."""
    rel = PurePosixPath(name)
    if rel.parts and rel.parts[0].endswith(".data"):
        if len(rel.parts) > 2 and rel.parts[1] in ("purelib", "platlib"):
            return PurePosixPath(*rel.parts[2:])
        return None  # scripts, headers, data files
    return rel


def glibc_needed(wheel_name: str) -> tuple[int, int] | None:
    """The lowest glibc any platform tag of a binary wheel accepts (None: pure wheel)."""
    platform_tags = wheel_name[:-4].split("-")[-1]
    if platform_tags in ("any",):
        return None
    found = []
    for tag in platform_tags.split("."):
        m = MANYLINUX_RE.match(tag)
        if m:
            found.append((int(m.group(1)), int(m.group(2))))
        for legacy, version in LEGACY_MANYLINUX.items():
            if tag.startswith(legacy + "_"):
                found.append(version)
    return min(found) if found else None


def unpack(wheel: Path, out: Path, origin: dict[str, Path]) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            rel = install_path(info.filename)
            if rel is None or not keep(rel):
                continue
            data = zf.read(info)
            target = out / rel
            key = str(rel)
            if key in origin:
                if target.read_bytes() != data and not rel.parts[0].endswith(".dist-info"):
                    raise StageError(f"{key} differs between {origin[key].name} and {wheel.name}")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            mode = (info.external_attr >> 16) & 0o777
            target.chmod(mode if mode & 0o400 else 0o644)
            origin[key] = wheel


def check_extensions(out: Path, pythons: list[tuple[int, int]]) -> None:
    """Every version-specific extension module exists for every carried version."""
    wanted = {f"{major}{minor}" for major, minor in pythons}
    seen: dict[str, set[str]] = {}
    for path in out.rglob("*.so"):
        m = EXT_RE.match(str(path.relative_to(out)))
        if m:
            seen.setdefault(m.group("stem"), set()).add(m.group("ver"))
    for stem, versions in sorted(seen.items()):
        if versions != wanted:
            raise StageError(
                f"{stem}: extension modules for CPython {sorted(versions)}, expected {sorted(wanted)}"
            )


def strip_binaries(out: Path, strip: str) -> tuple[int, int]:
    """Strip every ELF file under out in place; return (bytes before, bytes after)."""
    before = after = 0
    failed: list[str] = []
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        size = path.stat().st_size
        tmp = path.with_name(path.name + ".strip")
        proc = subprocess.run(
            [strip, "--strip-unneeded", "-o", str(tmp), str(path)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            failed.append(str(path.relative_to(out)))
            before += size
            after += size
            continue
        shutil.copymode(path, tmp)
        tmp.replace(path)
        before += size
        after += path.stat().st_size
    if failed:
        print(f"stage: warning: {strip} could not strip {len(failed)} files, e.g. {failed[0]}", file=sys.stderr)
    return before, after


def copy_package(src: Path, dest: Path) -> None:
    def ignore(_dir: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_PARTS or PurePosixPath(n).suffix in SKIP_SUFFIXES}

    shutil.copytree(src, dest, ignore=ignore)


def write_buildinfo(path: Path, arch: str, pythons: list[tuple[int, int]], glibc: tuple[int, int] | None) -> None:
    path.write_text(
        '"""Facts about this build of the single file, written by build/stage.py."""\n\n'
        "from __future__ import annotations\n\n"
        f"ARCH: str | None = {arch!r}\n"
        f"PYTHONS: tuple[tuple[int, int], ...] = {tuple(pythons)!r}\n"
        f"GLIBC: tuple[int, int] | None = {glibc!r}\n"
    )


def parse_python(text: str) -> tuple[int, int]:
    major, minor = text.strip().split(".")
    return int(major), int(minor)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", required=True)
    ap.add_argument("--wheels", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--src", type=Path, required=True, help="the k3trio package directory")
    ap.add_argument("--pythons", required=True, help="comma-separated CPython versions")
    ap.add_argument("--strip", default=shutil.which("strip") or "", help="strip program ('' to skip)")
    args = ap.parse_args(argv)

    pythons = [parse_python(v) for v in args.pythons.split(",") if v.strip()]
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)

    origin: dict[str, Path] = {}
    glibc: tuple[int, int] | None = None
    wheels = sorted(args.wheels.glob("*/*.whl"))
    if not wheels:
        raise StageError(f"no wheels under {args.wheels}")
    seen_names: set[str] = set()
    for wheel in wheels:
        if wheel.name in seen_names:
            continue
        seen_names.add(wheel.name)
        need = glibc_needed(wheel.name)
        if need is not None:
            glibc = need if glibc is None else max(glibc, need)
        unpack(wheel, args.out, origin)
    check_extensions(args.out, pythons)
    if args.strip:
        before, after = strip_binaries(args.out, args.strip)
        print(f"stripped shared objects: {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB")
    else:
        print("stage: warning: no strip program; shared objects keep their debug info", file=sys.stderr)

    copy_package(args.src, args.out / "k3trio")
    write_buildinfo(args.out / "k3trio" / "_buildinfo.py", args.arch, pythons, glibc)

    files = [p for p in args.out.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    glibc_text = "none" if glibc is None else f"{glibc[0]}.{glibc[1]}"
    print(
        f"staged {len(seen_names)} wheels, {len(files)} files, {size / 2**20:.1f} MiB unpacked;"
        f" needs glibc >= {glibc_text}"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except StageError as exc:
        print(f"stage: {exc}", file=sys.stderr)
        sys.exit(1)
