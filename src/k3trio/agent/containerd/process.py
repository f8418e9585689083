"""The agent's containerd child: start it, wait for its socket, restart it if it dies.

``Containerd.run`` is a component body::

    socket answers already? ──yes──> adopt it (a previous k3trio run started it)
          │ no
    binaries present? ──no──> RuntimeMissing (one line: which packages to install)
          │
    write config.toml, start ``containerd --config`` (own session, output to containerd.log),
    wait until the socket accepts connections ──> started(socket path)
          │
    child exits ──> log it, start again after a backoff (1 s doubling to 30 s)

Invariants:
- containerd runs in its own session, so a signal to k3trio's process group and a crash
  (even ``kill -9``) of k3trio leave it and its containers running; the next start adopts
  it through the socket, so containers are never restarted needlessly.
- It is stopped (SIGTERM, then SIGKILL after ``STOP_GRACE``) only when ``should_stop()``
  says the process is shutting down, never when just this component is restarted. An
  adopted containerd is stopped through the pid file only if that pid still runs our config.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from .config import (
    ContainerdPaths,
    can_lower_oom_score_adj,
    detect_cgroup_driver,
    find_cni_bin_dir,
    render_config,
)

__all__ = ["Containerd", "RuntimeMissing", "socket_answers"]

log = logging.getLogger("k3trio.agent.containerd")

START_TIMEOUT = 30.0
STOP_GRACE = 10.0
RESTART_BACKOFF_START = 1.0
RESTART_BACKOFF_CAP = 30.0

PACKAGE_HINT = ("install the Debian/Ubuntu packages: apt-get install containerd runc "
                "containernetworking-plugins iptables")


class RuntimeMissing(RuntimeError):
    """containerd, runc or the CNI plugins are not installed."""


def socket_answers(path: Path) -> bool:
    """Whether something accepts connections on the unix socket ``path``."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def check_binaries(which: Callable[[str], str | None] = shutil.which) -> tuple[str, str]:
    """Paths of ``containerd`` and the CNI bin dir.

    Raises:
        RuntimeMissing: one of containerd, runc or the CNI bridge plugin is missing.
    """
    containerd = which("containerd")
    if containerd is None:
        raise RuntimeMissing(f"containerd not found in PATH: {PACKAGE_HINT}")
    if which("runc") is None:
        raise RuntimeMissing(f"runc not found in PATH: {PACKAGE_HINT}")
    cni = find_cni_bin_dir()
    if cni is None:
        raise RuntimeMissing(f"CNI plugins not found in /usr/lib/cni or /opt/cni/bin: "
                             f"{PACKAGE_HINT}")
    return containerd, cni


class Containerd:
    """The agent's containerd. ``socket = await nursery.start(containerd.run)``.

    Args:
        paths: the file layout (``ContainerdPaths.under(<data-dir>/agent)``).
        sandbox_image: the pause image the CRI plugin uses for sandboxes.
        should_stop: whether a cancellation means process shutdown (stop the child).
    """

    def __init__(self, paths: ContainerdPaths, *, sandbox_image: str,
                 should_stop: Callable[[], bool] = lambda: True, debug: bool = False) -> None:
        self.paths = paths
        self.sandbox_image = sandbox_image
        self.should_stop = should_stop
        self.debug = debug
        self.starts = 0
        self.adopted = False
        self.cgroup_driver = detect_cgroup_driver()
        self.restrict_oom_score_adj = not can_lower_oom_score_adj()

    @property
    def pid_file(self) -> Path:
        return self.paths.socket.parent / "containerd.pid"

    def write_config(self, cni_bin_dir: str) -> bool:
        """Write config.toml when it changed; True if it was (re)written."""
        text = render_config(self.paths, sandbox_image=self.sandbox_image,
                             cgroup_driver=self.cgroup_driver, cni_bin_dir=cni_bin_dir,
                             restrict_oom_score_adj=self.restrict_oom_score_adj,
                             debug=self.debug)
        for d in (self.paths.config.parent, self.paths.root, self.paths.state,
                  self.paths.socket.parent, self.paths.cni_conf_dir):
            d.mkdir(parents=True, exist_ok=True)
        try:
            if self.paths.config.read_text() == text:
                return False
        except FileNotFoundError:
            pass
        tmp = self.paths.config.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.paths.config)
        return True

    async def run(self, *, task_status: trio.TaskStatus[Path] = trio.TASK_STATUS_IGNORED) -> None:
        """Adopt or start containerd, then keep it running until cancelled."""
        containerd, cni = check_binaries()
        changed = self.write_config(cni)
        try:
            if await trio.to_thread.run_sync(socket_answers, self.paths.socket):
                if changed:
                    log.warning("containerd config changed; the running containerd keeps "
                                "the old one until it restarts")
                log.info("Using the running containerd at %s", self.paths.socket)
                self.adopted = True
                task_status.started(self.paths.socket)
                task_status = trio.TASK_STATUS_IGNORED
                await self._watch_adopted()
            delay = RESTART_BACKOFF_START
            while True:
                began = trio.current_time()
                await self._run_child(containerd, task_status)
                task_status = trio.TASK_STATUS_IGNORED
                if trio.current_time() - began > 60:
                    delay = RESTART_BACKOFF_START
                log.warning("containerd exited; restarting in %.0fs", delay)
                await trio.sleep(delay)
                delay = min(delay * 2, RESTART_BACKOFF_CAP)
        finally:
            if self.adopted and self.should_stop():
                with trio.CancelScope(shield=True):
                    await self._stop_adopted()

    async def _watch_adopted(self) -> None:
        """Return once the adopted containerd stops answering."""
        misses = 0
        while misses < 3:
            await trio.sleep(2.0)
            ok = await trio.to_thread.run_sync(socket_answers, self.paths.socket)
            misses = 0 if ok else misses + 1
        log.warning("the running containerd at %s stopped answering", self.paths.socket)
        self.adopted = False

    async def _run_child(self, binary: str, task_status: trio.TaskStatus[Path]) -> None:
        self.paths.socket.unlink(missing_ok=True)
        self.paths.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.paths.log, "ab") as out:
            proc = await trio.lowlevel.open_process(
                [binary, "--config", str(self.paths.config)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            )
        self.starts += 1
        self.pid_file.write_text(f"{proc.pid}\n")
        log.info("Started containerd (pid %d), logging to %s", proc.pid, self.paths.log)
        try:
            with trio.move_on_after(START_TIMEOUT) as waiting:
                while not await trio.to_thread.run_sync(socket_answers, self.paths.socket):
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"containerd exited with status {proc.returncode} at start; "
                            f"see {self.paths.log}")
                    await trio.sleep(0.05)
            if waiting.cancelled_caught:
                raise RuntimeError(f"containerd did not open {self.paths.socket} within "
                                   f"{START_TIMEOUT:.0f}s; see {self.paths.log}")
            task_status.started(self.paths.socket)
            code = await proc.wait()
            log.warning("containerd (pid %d) exited with status %s", proc.pid, code)
        finally:
            if proc.returncode is None and self.should_stop():
                with trio.CancelScope(shield=True):
                    await _terminate(proc.pid, proc.wait)
                    self.pid_file.unlink(missing_ok=True)

    async def _stop_adopted(self) -> None:
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        if str(self.paths.config).encode() not in cmdline:
            return

        async def gone() -> None:
            while Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
                await trio.sleep(0.05)

        await _terminate(pid, gone)
        self.pid_file.unlink(missing_ok=True)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


async def _terminate(pid: int, wait: Callable[[], Awaitable[object]]) -> None:
    """SIGTERM, then SIGKILL after ``STOP_GRACE`` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with trio.move_on_after(STOP_GRACE) as scope:
        await wait()
    if scope.cancelled_caught:
        log.warning("containerd (pid %d) did not stop in %.0fs; killing it", pid, STOP_GRACE)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        await wait()
    log.info("Stopped containerd (pid %d)", pid)
