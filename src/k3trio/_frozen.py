"""Entry point of the single file (the shiv zipapp ``k3trio-<arch>``).

Before anything heavy is imported it checks that this machine and interpreter can load
the binary modules the file carries (see ``k3trio._buildinfo``): Linux, the architecture
the file was built for, CPython at one of the versions it carries extension modules for,
and a glibc at least as new as its wheels need. When one does not hold it prints one line
naming the problem and the fix, and exits with status 1, instead of failing later with an
ImportError from deep inside a dependency. Then it runs the normal command line.

Invariants:

* Nothing here or in what it imports before the check may need a third-party module or
  syntax newer than Python 3.8, so that running the file with an old ``python3`` still
  reaches the message.
* Outside a frozen build (``_buildinfo.ARCH is None``) no check is made.
* ``check`` is a pure function of its arguments; ``main`` gathers the facts.
"""

from __future__ import annotations

import os
import platform
import struct
import sys
from typing import NamedTuple, Optional, Sequence, Tuple


class Incompatible(Exception):
    """This file cannot run here; the message is one line for the user."""


class Host(NamedTuple):
    """The facts about the running system that decide whether the file can run."""

    system: str  # sys.platform
    machine: str  # platform.machine()
    pointer_bits: int  # 32 or 64: the interpreter's own word size
    implementation: str  # sys.implementation.name
    python: Tuple[int, int, int]  # sys.version_info[:3]
    executable: str  # sys.executable
    glibc: Optional[Tuple[int, int]]  # None: not glibc (or unknown)
    abiflags: str = ""  # sys.abiflags: "t" free-threaded, "d" debug build


def normalise_machine(machine: str, pointer_bits: int) -> str:
    """The ``uname -m`` style name of the architecture the interpreter runs as.

    Folds aliases (``amd64`` and ``arm64`` as other systems spell them) and accounts for
    a 32-bit userland on a 64-bit kernel: a 32-bit interpreter on aarch64 runs 32-bit ARM
    code, which is what the armv7l build carries.
    """
    m = machine.strip().lower()
    if m in ("x86_64", "amd64", "x64"):
        return "i686" if pointer_bits == 32 else "x86_64"
    if m in ("i386", "i486", "i586", "i686", "x86"):
        return "i686"
    if m in ("aarch64", "arm64", "armv8", "armv8a"):
        return "armv7l" if pointer_bits == 32 else "aarch64"
    if m in ("armv7l", "armv7", "armv7a", "armv7hl", "armv8l"):
        return "armv7l"
    return m


def _versions_text(versions: Sequence[Tuple[int, int]]) -> str:
    names = ["%d.%d" % v for v in versions]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def check(
    arch: Optional[str],
    pythons: Sequence[Tuple[int, int]],
    glibc_needed: Optional[Tuple[int, int]],
    host: Host,
) -> None:
    """Raise Incompatible when a file built for ``arch`` cannot run on ``host``.

    Args:
        arch: the architecture the file was built for; None means not frozen (no check).
        pythons: CPython (major, minor) versions the file carries binary modules for.
        glibc_needed: oldest glibc the file's wheels accept, or None.
        host: the running system.
    """
    if arch is None:
        return
    if not host.system.startswith("linux"):
        raise Incompatible(
            "this file is built for Linux on %s but this system is %s" % (arch, host.system)
        )
    machine = normalise_machine(host.machine, host.pointer_bits)
    if machine != arch:
        raise Incompatible(
            "this file is built for %s but this machine is %s; download k3trio-%s"
            % (arch, machine, machine)
        )
    version = "%d.%d.%d" % host.python
    if host.implementation != "cpython":
        raise Incompatible(
            "this file needs CPython %s but runs on %s %s (%s)"
            % (_versions_text(pythons), host.implementation, version, host.executable)
        )
    if tuple(host.python[:2]) not in {tuple(v) for v in pythons}:
        example = "python%d.%d" % tuple(pythons[0]) if pythons else "python3"
        raise Incompatible(
            "this file carries binary modules for CPython %s but runs on Python %s (%s);"
            " run it with one of those, e.g. %s %s"
            % (_versions_text(pythons), version, host.executable, example, _program())
        )
    if host.abiflags:
        raise Incompatible(
            "this file carries binary modules for the default build of CPython %s, but %s is"
            " a %s build (ABI flags %r)"
            % (
                version,
                host.executable,
                "free-threaded" if "t" in host.abiflags else "debug",
                host.abiflags,
            )
        )
    if glibc_needed is not None:
        need = "%d.%d" % tuple(glibc_needed)
        if host.glibc is None:
            raise Incompatible(
                "this file needs glibc %s or newer, and this system's C library is not glibc"
                % need
            )
        if tuple(host.glibc) < tuple(glibc_needed):
            raise Incompatible(
                "this file needs glibc %s or newer but this system has glibc %d.%d"
                % (need, host.glibc[0], host.glibc[1])
            )


def _program() -> str:
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "k3trio"


def glibc_version() -> Optional[Tuple[int, int]]:
    """The running glibc's (major, minor), or None when the C library is not glibc."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not text or not text.startswith("glibc "):
        return None
    try:
        major, minor = text.split()[1].split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def this_host() -> Host:
    return Host(
        system=sys.platform,
        machine=platform.machine(),
        pointer_bits=struct.calcsize("P") * 8,
        implementation=sys.implementation.name,
        python=tuple(sys.version_info[:3]),  # type: ignore[arg-type]
        executable=sys.executable or "python3",
        glibc=glibc_version(),
        abiflags=getattr(sys, "abiflags", ""),
    )


def main() -> int:
    """Check the host, then run ``k3trio`` with ``sys.argv``; return the exit status."""
    from . import _buildinfo

    try:
        check(_buildinfo.ARCH, _buildinfo.PYTHONS, _buildinfo.GLIBC, this_host())
    except Incompatible as exc:
        sys.stderr.write("k3trio: %s\n" % exc)
        return 1

    from .__main__ import main as cli_main

    return cli_main()


#: Modules whose import proves the file's binary wheels load on this interpreter.
BINARY_MODULES = (
    "apsw",
    "_cffi_backend",
    "cryptography.hazmat.bindings._rust",
    "google._upb._message",
    "greenlet._greenlet",
    "multidict._multidict",
    "yaml._yaml",
)
#: Top-level packages of the runtime dependencies.
PACKAGES = (
    "trio", "httpx", "hypercorn.trio", "grpclib.client", "google.protobuf", "attrs",
    "cattrs", "cryptography.x509", "yaml", "trio_asyncio",
    "k3trio._generated.cri.api_grpc", "k3trio._generated.etcd.api.etcdserverpb.rpc_grpc",
)


def selfcheck() -> int:
    """Import every binary module and dependency the file carries; 0 when all load.

    Run it inside the file with ``SHIV_ENTRY_POINT=k3trio._frozen:selfcheck k3trio-<arch>``;
    it prints one line per failure, then a summary line.
    """
    import importlib

    from . import _buildinfo

    try:
        check(_buildinfo.ARCH, _buildinfo.PYTHONS, _buildinfo.GLIBC, this_host())
    except Incompatible as exc:
        sys.stderr.write("k3trio: %s\n" % exc)
        return 1
    failed = 0
    for name in BINARY_MODULES + PACKAGES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # report every failure, not just the first
            failed += 1
            sys.stdout.write("FAIL %s: %s: %s\n" % (name, type(exc).__name__, exc))
    try:
        impl = importlib.import_module("google.protobuf.internal.api_implementation").Type()
    except Exception as exc:
        impl = "unavailable (%s)" % exc
    sys.stdout.write(
        "selfcheck: python %d.%d.%d, %d modules, %d failed, protobuf %s\n"
        % (sys.version_info[:3] + (len(BINARY_MODULES + PACKAGES), failed, impl))
    )
    return 1 if failed else 0
