"""``k3trio agent`` as a process: it joins a real server, runs its own containerd and kubelet,
and its Node becomes Ready under the node's own identity; SIGTERM stops it cleanly.

Needs root, containerd, runc and the CNI plugins; skipped with the reason otherwise (a failure
in CI). One node on one machine: several nodes with their own network belong to the
networking tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from k3trio.agent.containerd import ContainerdPaths

from ._server import ServerProcess, env_without_venv, token_of
from ..conftest import free_port
from .conftest import Kubectl, unique, wait_until


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (containerd, network namespaces)"
    for binary in ("containerd", "runc"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    if not any(Path(d, "bridge").exists() for d in ("/usr/lib/cni", "/opt/cni/bin")):
        return "CNI plugins are not installed"
    return None


_REASON = _missing()
if _REASON is not None:
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"agent process tests cannot run in CI: {_REASON}")
    pytestmark = pytest.mark.skip(reason=_REASON)


class AgentProcess:
    def __init__(self, data_dir: Path, server: ServerProcess, node: str) -> None:
        self.data_dir = data_dir
        self.server = server
        self.node = node
        self.log = data_dir / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.kubelet_port = free_port()

    def start(self) -> AgentProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "k3trio", "agent", "--data-dir", str(self.data_dir),
                 "--server", f"https://127.0.0.1:{self.server.port}",
                 "--token", token_of(self.server.data_dir), "--node-name", self.node,
                 "--kubelet-arg", f"port={self.kubelet_port}"],
                stdout=out, stderr=out, env=env_without_venv(), start_new_session=True)
        return self

    def stop(self) -> int | None:
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    code = self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            else:
                code = self.proc.returncode
        # containerd outlives a killed agent by design: stop the one this agent started.
        pid_file = ContainerdPaths.under(self.data_dir / "agent").socket.parent / "containerd.pid"
        if self.proc is not None and self.proc.returncode != 0 and pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        return code

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def agent(api_server: ServerProcess, tmp_path: Path) -> Iterator[AgentProcess]:
    proc = AgentProcess(tmp_path / "data", api_server, unique("joined"))
    try:
        yield proc
    finally:
        proc.stop()


def node_ready(kctl: Kubectl, name: str) -> bool:
    proc = kctl.run("get", "node", name, "-o",
                    "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
    return proc.returncode == 0 and proc.stdout.strip() == "True"


def test_a_joined_agent_runs_a_ready_node(agent: AgentProcess, kctl: Kubectl) -> None:
    started = time.monotonic()
    agent.start()
    wait_until(lambda: node_ready(kctl, agent.node) or _exited(agent), timeout=60, interval=0.2)
    assert node_ready(kctl, agent.node), agent.text()
    ready_after = time.monotonic() - started
    lease = kctl.json("get", "lease", "-n", "kube-node-lease", agent.node)
    assert lease["spec"]["holderIdentity"] == agent.node
    node = kctl.json("get", "node", agent.node)
    assert node["spec"].get("podCIDR")
    assert agent.stop() == 0, agent.text()
    assert "k3trio agent stopped" in agent.text()
    assert "Obtained client-kubelet certificate" in agent.text()

    # A restart re-uses the node's credentials and registration.
    agent.start()
    wait_until(lambda: "Node agent of" in agent.text() or _exited(agent), timeout=60, interval=0.2)
    text = agent.text()
    assert "Node agent of" in text and "Obtained" not in text, text
    assert agent.stop() == 0, agent.text()
    print(f"joined node Ready after {ready_after:.1f}s")


def _exited(agent: AgentProcess) -> bool:
    return agent.proc is not None and agent.proc.poll() is not None
