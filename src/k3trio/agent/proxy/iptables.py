"""Applying and removing the service proxy's rules with ``iptables-restore`` (the I/O half
of ``rules``).

``Applier.sync(payload)`` replaces all of our chains in one ``iptables-restore --noflush``
transaction (skipped when the payload is what was last applied); the built-in chains' jumps
into ours are inserted once, at the top, before the first sync. ``remove_all()`` deletes the
jumps and then every chain the service proxy owns, whatever run created them.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterable, Sequence

import trio

from .rules import BUILTIN_JUMPS, NodeInfo, Obj, build_payload, cleanup_payload, owned_chain

__all__ = ["Applier", "IptablesError", "owned_chains_present", "remove_all"]

log = logging.getLogger("k3trio.agent.proxy")

_CHAIN_LINE = re.compile(r"^:(\S+) ")


class IptablesError(RuntimeError):
    """An iptables command failed."""


async def _run(argv: Sequence[str], stdin: bytes | None = None, check: bool = True) -> str:
    proc = await trio.run_process(list(argv), stdin=stdin, capture_stdout=True,
                                  capture_stderr=True, check=False)
    if check and proc.returncode != 0:
        raise IptablesError(f"{' '.join(argv)}: exit {proc.returncode}: "
                            f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else ""


async def owned_chains_present() -> dict[str, list[str]]:
    """The service proxy's chains now in the kernel, per table."""
    out: dict[str, list[str]] = {}
    for table in ("filter", "nat"):
        text = await _run(["iptables-save", "-t", table], check=False)
        out[table] = [m.group(1) for line in text.splitlines()
                      if (m := _CHAIN_LINE.match(line)) and owned_chain(m.group(1))]
    return out


async def _ensure_jumps() -> None:
    for table, chain, spec in BUILTIN_JUMPS:
        present = await trio.run_process(["iptables", "-w", "-t", table, "-C", chain, *spec],
                                         capture_stdout=True, capture_stderr=True, check=False)
        if present.returncode != 0:
            await _run(["iptables", "-w", "-t", table, "-I", chain, "1", *spec])


async def _delete_jumps() -> None:
    for table, chain, spec in BUILTIN_JUMPS:
        # A jump may have been inserted twice by racing runs: delete until none is left.
        for _ in range(16):
            gone = await trio.run_process(["iptables", "-w", "-t", table, "-D", chain, *spec],
                                          capture_stdout=True, capture_stderr=True, check=False)
            if gone.returncode != 0:
                break


async def remove_all() -> None:
    """Delete every jump and chain of the service proxy (component stop, ``cleanup``)."""
    if shutil.which("iptables-restore") is None:
        return
    await _delete_jumps()
    present = await owned_chains_present()
    payload = cleanup_payload(present)
    if payload:
        await _run(["iptables-restore", "-w", "--noflush"], stdin=payload.encode())
        log.info("Removed service proxy chains: %s",
                 ", ".join(sorted(n for names in present.values() for n in names)))


class Applier:
    """Applies payloads, remembering the last one so an unchanged sync is skipped."""

    def __init__(self) -> None:
        self._last: str | None = None
        self._known: dict[str, set[str]] = {"filter": set(), "nat": set()}
        self.applied = 0

    async def start(self) -> None:
        """Learn the chains left by an earlier run (deleted by the first sync if unwanted)."""
        for table, names in (await owned_chains_present()).items():
            self._known[table].update(names)

    def payload(self, services: Iterable[Obj], slices: Iterable[Obj], node: NodeInfo) -> str:
        """The payload for these objects, deleting known chains no longer wanted."""
        return build_payload(services, slices, node, self._known)

    async def sync(self, payload: str) -> bool:
        """Apply ``payload`` unless it equals the last applied one; True when applied."""
        if payload == self._last:
            return False
        await _run(["iptables-restore", "-w", "--noflush"], stdin=payload.encode())
        if self._last is None:
            await _ensure_jumps()
        self._last = payload
        self.applied += 1
        self._known = {"filter": set(), "nat": set()}
        table = ""
        for line in payload.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith("-X "):
                self._known[table].discard(line[3:])
            elif (m := _CHAIN_LINE.match(line)):
                self._known[table].add(m.group(1))
        return True
