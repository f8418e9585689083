#!/usr/bin/env python3
"""Pin the runtime dependencies of the single-file build, per architecture.

Writes ``arch/<arch>/requirements.txt``: every distribution the zipapp carries, with an
exact version and the sha256 of each wheel file that ``build/shiv.sh`` may download for
it (one per CPython version for version-specific extension wheels, one in all for pure
Python and abi3 wheels).

Inputs (all in the repository):

* ``[project] dependencies`` of ``pyproject.toml``: what to resolve;
* ``arch/pythons``: the CPython versions the file carries binary modules for;
* ``arch/<arch>/platforms``: the wheel platform tags accepted for that architecture.

Invariants:

* Only binary wheels are considered (``--only-binary=:all:``); nothing is compiled.
* One version per distribution for all CPython versions and all architectures: the
  first architecture named (x86_64 by default) is resolved freely, the others are
  resolved under its pins as constraints.
* The requirements file lists the union over the CPython versions and carries no
  environment markers: pip evaluates markers against the interpreter running it, not
  against ``--python-version``, so a marker would not select what a given target needs.
  A pure-Python package that only one version needs is harmless for the others.
* A distribution with no binary wheel for an architecture is not silently dropped: it is
  listed on a ``# missing:`` line and ``build/shiv.sh`` refuses to build that architecture.

Usage: ``build/lock.py [ARCH ...]`` (default: x86_64 aarch64 armv7l), run from anywhere
with a Python >= 3.11 that has pip. It asks the package index for metadata only (PEP 658)
and downloads no wheel.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCH_DIR = ROOT / "arch"
DEFAULT_ARCHES = ("x86_64", "aarch64", "armv7l")


class LockError(Exception):
    """Resolution failed in a way that pinning cannot work around."""


@dataclass
class Pin:
    """One distribution at one version, with the hashes of its wheels seen so far."""

    name: str
    version: str
    hashes: set[str] = field(default_factory=set)
    pure: bool = True  # a py3-none-any wheel serves every interpreter and platform


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lines(path: Path) -> list[str]:
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def project_dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def pip_report(
    requirements: list[str],
    python: str,
    platforms: list[str],
    constraints: dict[str, Pin],
    no_deps: bool = False,
) -> list[dict[str, object]] | None:
    """What pip would install for one target, or None when it finds no wheels for it."""
    with tempfile.TemporaryDirectory() as tmp:
        cfile = Path(tmp, "constraints.txt")
        cfile.write_text("".join(f"{p.name}=={p.version}\n" for p in constraints.values()))
        report = Path(tmp, "report.json")
        cmd = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
            "--quiet", "--only-binary=:all:", "--implementation", "cp",
            "--python-version", python, "--target", str(Path(tmp, "target")),
            "--report", str(report), "-c", str(cfile),
        ]
        for plat in platforms:
            cmd += ["--platform", plat]
        if no_deps:
            cmd.append("--no-deps")
        proc = subprocess.run(cmd + requirements, capture_output=True, text=True)
        if proc.returncode != 0:
            if "No matching distribution" in proc.stderr or "ResolutionImpossible" in proc.stderr:
                return None
            raise LockError(f"pip failed for CPython {python}:\n{proc.stderr}")
        return list(json.loads(report.read_text())["install"])


def add_items(pins: dict[str, Pin], items: list[dict[str, object]]) -> list[str]:
    """Merge pip report items into pins; return names whose versions disagree."""
    disagree = []
    for item in items:
        meta = item["metadata"]
        info = item["download_info"]
        assert isinstance(meta, dict) and isinstance(info, dict)
        name, version = canonical(meta["name"]), meta["version"]
        url = info["url"]
        sha = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        if not sha:
            raise LockError(f"the index gave no sha256 for {url}")
        pin = pins.setdefault(name, Pin(name, version))
        if pin.version != version:
            disagree.append(name)
            continue
        pin.hashes.add(sha)
        if not url.endswith("-none-any.whl"):
            pin.pure = False
    return disagree


def resolve_arch(
    arch: str, pythons: list[str], deps: list[str], reference: dict[str, Pin] | None
) -> tuple[dict[str, Pin], dict[str, list[str]]]:
    """Pins and gaps ({name: [python, ...]}) for one architecture."""
    platforms = read_lines(ARCH_DIR / arch / "platforms")
    constraints = dict(reference or {})
    for _attempt in range(4):
        pins: dict[str, Pin] = {}
        gaps: dict[str, list[str]] = {}
        retry = False
        for python in pythons:
            items = pip_report(deps, python, platforms, constraints)
            if items is None:
                if reference is None:
                    raise LockError(f"no complete set of wheels for {arch} on CPython {python}")
                # Find which pinned distributions have no wheel for this target.
                for ref in reference.values():
                    if ref.pure and ref.name in pins:
                        continue
                    one = pip_report(
                        [f"{ref.name}=={ref.version}"], python, platforms, {}, no_deps=True
                    )
                    if one is None:
                        gaps.setdefault(ref.name, []).append(python)
                    else:
                        add_items(pins, one)
                continue
            disagree = add_items(pins, items)
            for name in disagree:
                # Pin every interpreter to the oldest version any of them resolved to.
                versions = [pins[name].version] + [
                    canonical_version(i) for i in items if canonical(i["metadata"]["name"]) == name
                ]
                constraints[name] = Pin(name, min(versions, key=version_key))
                retry = True
        if not retry:
            return pins, gaps
    raise LockError(f"versions for {arch} did not converge across {pythons}")


def canonical_version(item: dict[str, object]) -> str:
    meta = item["metadata"]
    assert isinstance(meta, dict)
    return str(meta["version"])


def version_key(version: str) -> tuple[object, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.+-]", version))


def write_requirements(arch: str, pythons: list[str], pins: dict[str, Pin], gaps: dict[str, list[str]]) -> Path:
    lines = [
        f"# Runtime pins for the {arch} single-file build, for CPython {' '.join(pythons)}.",
        "# Generated by build/lock.py from pyproject.toml, arch/pythons and",
        f"# arch/{arch}/platforms; regenerate rather than edit by hand.",
    ]
    if gaps:
        detail = "; ".join(f"{n} (CPython {' '.join(v)})" for n, v in sorted(gaps.items()))
        lines.append(f"# missing: {detail}")
        lines.append(f"# (no binary wheel on the index for {arch}; build/shiv.sh refuses this arch)")
    for name in sorted(pins):
        pin = pins[name]
        lines.append(f"{pin.name}=={pin.version} \\")
        hashes = sorted(pin.hashes)
        for i, sha in enumerate(hashes):
            tail = " \\" if i < len(hashes) - 1 else ""
            lines.append(f"    --hash=sha256:{sha}{tail}")
    out = ARCH_DIR / arch / "requirements.txt"
    out.write_text("\n".join(lines) + "\n")
    return out


def main(argv: list[str]) -> int:
    arches = argv or list(DEFAULT_ARCHES)
    pythons = read_lines(ARCH_DIR / "pythons")
    deps = project_dependencies()
    reference: dict[str, Pin] | None = None
    if arches[0] != "x86_64" and (ARCH_DIR / "x86_64" / "requirements.txt").exists():
        reference = read_pins(ARCH_DIR / "x86_64" / "requirements.txt")
    for arch in arches:
        pins, gaps = resolve_arch(arch, pythons, deps, reference)
        if reference is None:
            reference = pins
        path = write_requirements(arch, pythons, pins, gaps)
        note = f", missing {sorted(gaps)}" if gaps else ""
        print(f"{path.relative_to(ROOT)}: {len(pins)} pins{note}")
    return 0


def read_pins(path: Path) -> dict[str, Pin]:
    """Pins of an existing requirements file (names, versions, purity unknown: False)."""
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if m:
            name = canonical(m.group(1))
            pins[name] = Pin(name, m.group(2), pure=False)
    return pins


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
