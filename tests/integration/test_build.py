"""The single file: built by build/shiv.sh, run with nothing but a system python3.

The build runs once per session (see ``_build.build_once``); ``K3TRIO_SKIP_BUILD=1``
skips the tests that need it. The host checks of ``k3trio._frozen`` are also tested
directly with made-up hosts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from k3trio._frozen import Host, Incompatible, check, normalise_machine
from k3trio.version import version_line

try:
    from ._build import WORK, build_once, built_k3trio_or_skip, fingerprint, host_arch
except ImportError:  # tests/integration is not a package
    from _build import (  # type: ignore[no-redef]
        WORK, build_once, built_k3trio_or_skip, fingerprint, host_arch,
    )

MAX_BYTES = 20 * 2**20
PYTHONS = ((3, 11), (3, 12), (3, 13), (3, 14))


@pytest.fixture(scope="session")
def built_k3trio() -> Path:
    """Path of dist/k3trio-<arch> for this machine, built once per session."""
    path: Path = built_k3trio_or_skip()
    return path


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.implementation.name, *sys.version_info[:2], sys.executable)"],
            capture_output=True, text=True, timeout=30,
        ).stdout.split()
    except OSError:
        return None
    if len(out) != 4 or out[0] != "cpython":
        return None
    return int(out[1]), int(out[2])


def _real_python(python: str) -> str | None:
    """The interpreter binary behind a name like python3.12, wherever it is installed.

    Looks on PATH (a pyenv shim resolves to the real binary when it works), in the usual
    system places, and in pyenv's versions directory.
    """
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(python), f"/usr/bin/{python}", f"/usr/local/bin/{python}"]
    candidates += [str(p) for p in sorted(pyenv.glob(f"*/bin/{python}"), reverse=True)]
    for found in candidates:
        if not found or not os.path.exists(found):
            continue
        try:
            out = subprocess.run(
                [found, "-c", "import sys; print(sys.executable)"],
                capture_output=True, text=True, timeout=30,
            )
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return None


def _system_python3() -> str:
    """A CPython >= 3.11 outside any venv: /usr/bin/python3 if new enough."""
    base = str(getattr(sys, "_base_executable", sys.executable))
    for candidate in ("/usr/bin/python3", _real_python("python3"), base):
        if candidate and os.path.exists(candidate):
            version = _version_of(candidate)
            if version and version >= (3, 11) and "/.venv" not in candidate:
                return candidate
    return base


def _clean_env(home: Path, python: str, **extra: str) -> dict[str, str]:
    """What env -i PATH=<python's dir>:/usr/bin:/bin HOME=<home> would give."""
    path = ":".join(dict.fromkeys([str(Path(python).parent), "/usr/bin", "/bin"]))
    return {"PATH": path, "HOME": str(home), **extra}


# --- the built file ------------------------------------------------------------------


def test_file_is_built_small_and_executable(built_k3trio: Path) -> None:
    assert built_k3trio.name == f"k3trio-{host_arch()}"
    size = built_k3trio.stat().st_size
    assert 0 < size <= MAX_BYTES, f"{built_k3trio} is {size / 2**20:.2f} MiB"
    assert os.access(built_k3trio, os.X_OK)
    assert built_k3trio.read_bytes()[:2] == b"#!"


def test_file_carries_only_runtime_files(built_k3trio: Path) -> None:
    names = zipfile.ZipFile(built_k3trio).namelist()
    assert "site-packages/k3trio/_frozen.py" in names
    assert "site-packages/k3trio/_generated/cri/api_grpc.py" in names
    bad = [
        n for n in names
        if "/__pycache__/" in n or n.endswith((".pyc", ".pyi"))
        or re.search(r"/(tests|_tests|test)/", n)
        or re.match(r"site-packages/(pip|setuptools|pytest|_pytest|hypothesis)[/-]", n)
    ]
    assert bad == []


def test_version_runs_anywhere_with_a_clean_environment(built_k3trio: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    python = _system_python3()
    for _ in range(2):  # first run extracts into ~/.shiv, the second reuses it
        proc = subprocess.run(
            [str(built_k3trio), "--version"],
            cwd=elsewhere, env=_clean_env(home, python), capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("k3trio version v")
        assert proc.stdout.strip() == version_line()
    extracted = list((home / ".shiv").glob(f"{built_k3trio.name}_*/site-packages"))
    assert len(extracted) == 1


def test_shiv_root_moves_the_extraction(built_k3trio: Path, tmp_path: Path) -> None:
    root = tmp_path / "shiv-root"
    home = tmp_path / "home"
    home.mkdir()
    python = _system_python3()
    proc = subprocess.run(
        [str(built_k3trio), "--version"],
        cwd=tmp_path, env=_clean_env(home, python, SHIV_ROOT=str(root)),
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(root.glob(f"{built_k3trio.name}_*/site-packages"))
    assert not (home / ".shiv").exists()


@pytest.mark.parametrize("version", PYTHONS, ids=lambda v: "py%d%d" % v)
def test_binary_modules_load_on_each_carried_python(
    built_k3trio: Path, tmp_path: Path, version: tuple[int, int]
) -> None:
    python = _real_python("python%d.%d" % version)
    if python is None or _version_of(python) != version:
        pytest.skip("python%d.%d is not installed here" % version)
    proc = subprocess.run(
        [python, str(built_k3trio)],
        cwd=tmp_path,
        env=_clean_env(tmp_path, python, SHIV_ENTRY_POINT="k3trio._frozen:selfcheck"),
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ", 0 failed, protobuf upb" in proc.stdout


def test_an_unsupported_python_gets_one_clear_line(built_k3trio: Path, tmp_path: Path) -> None:
    old = None
    for minor in (10, 9, 8):
        candidate = _real_python(f"python3.{minor}")
        if candidate and _version_of(candidate) == (3, minor):
            old = candidate
            break
    if old is None:
        pytest.skip("no python3.8-3.10 installed here")
    proc = subprocess.run(
        [old, str(built_k3trio), "--version"],
        cwd=tmp_path, env=_clean_env(tmp_path, old), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert re.fullmatch(
        r"k3trio: this file carries binary modules for CPython 3\.11, 3\.12, 3\.13 or 3\.14"
        r" but runs on Python 3\.\d+\.\d+ \(.+\); run it with one of those, e\.g\. python3\.11 k3trio-\w+\n",
        proc.stderr,
    ), proc.stderr


def _rebuild_with_buildinfo(src: Path, dest: Path, arch: str) -> None:
    """Copy the zipapp with its build info claiming another architecture."""
    data = src.read_bytes()
    shebang = data[: data.index(b"\n") + 1]
    with zipfile.ZipFile(src) as old, dest.open("wb") as out:
        out.write(shebang)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                body = old.read(info)
                if info.filename == "site-packages/k3trio/_buildinfo.py":
                    body = re.sub(rb"ARCH: str \| None = '[^']*'", f"ARCH: str | None = {arch!r}".encode(), body)
                    assert arch.encode() in body
                new.writestr(info, body)
    dest.chmod(0o755)


def test_a_file_for_another_arch_names_the_right_one(built_k3trio: Path, tmp_path: Path) -> None:
    here = host_arch()
    other = "aarch64" if here != "aarch64" else "x86_64"
    foreign = tmp_path / f"k3trio-{other}"
    _rebuild_with_buildinfo(built_k3trio, foreign, other)
    python = _system_python3()
    proc = subprocess.run(
        [str(foreign), "--version"],
        cwd=tmp_path, env=_clean_env(tmp_path, python), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        f"k3trio: this file is built for {other} but this machine is {here}; download k3trio-{here}\n"
    )


def test_build_once_reuses_an_up_to_date_file(built_k3trio: Path) -> None:
    arch = host_arch()
    if (WORK / f"{arch}.fingerprint").read_text() != fingerprint(arch):
        pytest.skip("the sources changed since this session's build")
    before = built_k3trio.stat().st_mtime_ns
    build_once.cache_clear()
    assert build_once() == built_k3trio
    assert built_k3trio.stat().st_mtime_ns == before


# --- the host checks, with made-up hosts -------------------------------------------


def _host(**changes: Any) -> Host:
    base = Host(
        system="linux", machine="x86_64", pointer_bits=64, implementation="cpython",
        python=(3, 12, 3), executable="/usr/bin/python3", glibc=(2, 36),
    )
    return base._replace(**changes)


def test_check_accepts_a_matching_host() -> None:
    check("x86_64", PYTHONS, (2, 28), _host())
    check("aarch64", PYTHONS, (2, 28), _host(machine="arm64"))
    check("armv7l", PYTHONS, None, _host(machine="armv8l", pointer_bits=32, glibc=None))


def test_check_is_skipped_when_not_frozen() -> None:
    check(None, (), None, _host(system="darwin", machine="ppc64le", python=(2, 7, 18)))


def test_check_wrong_arch() -> None:
    with pytest.raises(Incompatible) as exc:
        check("aarch64", PYTHONS, (2, 28), _host())
    assert str(exc.value) == "this file is built for aarch64 but this machine is x86_64; download k3trio-x86_64"


def test_check_32_bit_python_on_64_bit_arm_kernel_needs_armv7l() -> None:
    with pytest.raises(Incompatible, match="built for aarch64 but this machine is armv7l; download k3trio-armv7l"):
        check("aarch64", PYTHONS, None, _host(machine="aarch64", pointer_bits=32))


@pytest.mark.parametrize(
    ("machine", "bits", "expected"),
    [
        ("x86_64", 64, "x86_64"), ("AMD64", 64, "x86_64"), ("x86_64", 32, "i686"),
        ("aarch64", 64, "aarch64"), ("arm64", 64, "aarch64"), ("aarch64", 32, "armv7l"),
        ("armv7l", 32, "armv7l"), ("armv8l", 32, "armv7l"), ("armv6l", 32, "armv6l"),
        ("riscv64", 64, "riscv64"),
    ],
)
def test_normalise_machine(machine: str, bits: int, expected: str) -> None:
    assert normalise_machine(machine, bits) == expected


def test_check_python_version_and_implementation() -> None:
    with pytest.raises(Incompatible, match=r"CPython 3\.11, 3\.12, 3\.13 or 3\.14 but runs on Python 3\.15\.0"):
        check("x86_64", PYTHONS, None, _host(python=(3, 15, 0)))
    with pytest.raises(Incompatible, match=r"needs CPython 3\.11 or 3\.12 but runs on pypy 3\.11\.9"):
        check("x86_64", PYTHONS[:2], None, _host(implementation="pypy", python=(3, 11, 9)))


def test_check_free_threaded_python() -> None:
    with pytest.raises(Incompatible, match=r"default build of CPython 3\.14\.0, but /usr/bin/python3 is a free-threaded build"):
        check("x86_64", PYTHONS, None, _host(python=(3, 14, 0), abiflags="t"))


def test_check_glibc_and_system() -> None:
    with pytest.raises(Incompatible, match=r"needs glibc 2\.28 or newer but this system has glibc 2\.24"):
        check("x86_64", PYTHONS, (2, 28), _host(glibc=(2, 24)))
    with pytest.raises(Incompatible, match="C library is not glibc"):
        check("x86_64", PYTHONS, (2, 28), _host(glibc=None))
    with pytest.raises(Incompatible, match="built for Linux on x86_64 but this system is darwin"):
        check("x86_64", PYTHONS, (2, 28), _host(system="darwin"))
