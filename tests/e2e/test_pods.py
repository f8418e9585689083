"""Real pods: ``k3trio server`` with its agent, its own containerd, busybox from a tarball.

Needs root, containerd, runc, the CNI plugins and busybox-static (``build/setup.sh``). Skipped
with the reason when they are missing, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from k3trio.agent.images import busybox_image, ensure_archive
from k3trio.client import Client, ClientConfig, NotFound
from k3trio.client.resource import NODES, PODS
from tests.conftest import free_port


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (containerd, network namespaces)"
    for binary in ("containerd", "runc", "ctr"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed (apt-get install containerd runc)"
    if not Path("/bin/busybox").exists():
        return "busybox-static is not installed"
    if not any(Path(d, "bridge").exists() for d in ("/usr/lib/cni", "/opt/cni/bin")):
        return "CNI plugins are not installed (apt-get install containernetworking-plugins)"
    return None


_REASON = _missing()
if _REASON is not None:
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"e2e pod tests cannot run in CI: {_REASON}")
    pytestmark = pytest.mark.skip(reason=_REASON)


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out.append((int(entry.name), ppid, cmdline))
    return out


def reap_containers(data_dir: Path) -> None:
    """Kill what a test server's containerd left running and unmount its leftovers.

    Pods outlive the agent by design (as in K3s); a test's cluster must not outlive the test.
    The runc shims of this data dir's containerd are found by their ``-address``; their
    containers (the shims' children) are killed first, then the shims; then the mounts
    under the data dir are detached, deepest first.
    """
    from k3trio.agent.containerd import ContainerdPaths

    root = str(data_dir)
    socket = str(ContainerdPaths.under(data_dir / "agent").socket)
    procs = _processes()
    shims = {pid for pid, _, cmd in procs
             if "containerd-shim" in cmd and f"-address {socket}" in cmd}
    for pid, ppid, _ in procs:
        if ppid in shims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
    for pid in shims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in shims):
        time.sleep(0.05)
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mountpoint in sorted((m for m in mounts if m.startswith(root)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mountpoint], capture_output=True)


class AgentServer:
    """``k3trio server`` (agent included) on a free port with its own data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        # Its own kubelet port, so test servers on one machine never answer for each other.
        self.kubelet_port = free_port()
        self.kubeconfig = data_dir / "kubeconfig.yaml"
        self.log = data_dir / "server.log"
        self.node = f"e2e-{os.getpid()}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "k3trio", "server", "--data-dir", str(self.data_dir),
                 "--https-listen-port", str(self.port), "--bind-address", "127.0.0.1",
                 "--write-kubeconfig", str(self.kubeconfig), "--node-name", self.node,
                 "--kubelet-arg", f"port={self.kubelet_port}"],
                stdout=out, stderr=out, start_new_session=True)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # containerd survives a kill -9 of its parent by design; stop the one we started.
        from k3trio.agent.containerd import ContainerdPaths

        pid_file = ContainerdPaths.under(self.data_dir / "agent").socket.parent / "containerd.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), 15)
            except (ProcessLookupError, ValueError):
                pass
        reap_containers(self.data_dir)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AgentServer]:
    srv = AgentServer(tmp_path / "data")
    ensure_archive(srv.data_dir / "agent" / "images" / "busybox.tar", busybox_image())
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


async def _client(srv: AgentServer) -> Client:
    with trio.fail_after(30):
        while not srv.kubeconfig.exists():
            assert srv.proc is not None and srv.proc.poll() is None, srv.tail()
            await trio.sleep(0.1)
    return Client(ClientConfig.from_kubeconfig(srv.kubeconfig))


async def _wait(client: Client, name: str, check: Any, timeout: float, srv: AgentServer) -> Any:
    deadline = trio.current_time() + timeout
    last: Any = None
    while trio.current_time() < deadline:
        try:
            last = await client.get(PODS, name, namespace="default")
        except NotFound:
            last = None
        if check(last):
            return last
        await trio.sleep(0.05)
    raise AssertionError(f"pod {name} never matched; last: {last}\n{srv.tail()}")


async def _wait_node_ready(client: Client, srv: AgentServer) -> None:
    with trio.fail_after(60):
        while True:
            try:
                node = await client.get(NODES, srv.node)
                conds = {c["type"]: c["status"] for c in node["status"]["conditions"]}
                if conds.get("Ready") == "True":
                    return
            except Exception:
                pass
            await trio.sleep(0.2)


def _pod(name: str, script: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"terminationGracePeriodSeconds": 1, **spec, "containers": [{
            "name": "main", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", script]}]},
    }


def _running(pod: Any) -> bool:
    return bool(pod and pod["status"].get("phase") == "Running" and pod["status"].get("podIP"))


async def test_pod_runs_restarts_and_is_deleted(server: AgentServer) -> None:
    async with await _client(server) as client:
        await _wait_node_ready(client, server)
        began = time.monotonic()
        await client.create(PODS, _pod("hello", "echo hello; sleep 3600"), namespace="default")
        pod = await _wait(client, "hello", _running, 30, server)
        startup = time.monotonic() - began
        print(f"pod create -> Running: {startup:.3f}s")
        status = pod["status"]
        cs = status["containerStatuses"][0]
        assert cs["containerID"].startswith("containerd://")
        assert cs["ready"] is True and "running" in cs["state"]
        assert status["podIP"].startswith("10.42.")
        assert status["hostIP"]
        log_dir = Path("/var/log/pods") / f"default_hello_{pod['metadata']['uid']}"
        assert "hello" in (log_dir / "main" / "0.log").read_text()

        # restartPolicy Always: the container comes back after each exit
        await client.create(PODS, _pod("crash", "echo run; sleep 0.5; exit 3"),
                            namespace="default")

        def restarted(p: Any) -> bool:
            statuses = (p or {}).get("status", {}).get("containerStatuses") or []
            return bool(statuses) and statuses[0]["restartCount"] >= 1 and \
                statuses[0]["lastState"].get("terminated", {}).get("exitCode") == 3

        crash = await _wait(client, "crash", restarted, 30, server)
        assert crash["status"]["phase"] == "Running"

        # restartPolicy Never: the pod completes
        await client.create(PODS, _pod("once", "exit 0", restartPolicy="Never"),
                            namespace="default")
        await _wait(client, "once", lambda p: p and p["status"].get("phase") == "Succeeded", 30,
                    server)

        # delete -> containers stopped, sandbox removed, object gone (pods outlive a server
        # stop by design, so every pod of the test is deleted here)
        for name in ("hello", "crash", "once"):
            await client.delete(PODS, name, namespace="default")
        for name in ("hello", "crash", "once"):
            await _wait(client, name, lambda p: p is None, 30, server)


async def test_kill9_readopts_running_containers(server: AgentServer) -> None:
    async with await _client(server) as client:
        await _wait_node_ready(client, server)
        await client.create(PODS, _pod("keep", "sleep 3600"), namespace="default")
        before = await _wait(client, "keep", _running, 30, server)
        cid = before["status"]["containerStatuses"][0]["containerID"]
    server.kill9()
    server.start()
    async with await _client(server) as client:
        await _wait_node_ready(client, server)
        await trio.sleep(2)
        after = await _wait(client, "keep", _running, 30, server)
        cs = after["status"]["containerStatuses"][0]
        assert cs["containerID"] == cid
        assert cs["restartCount"] == 0
        assert after["status"]["podIP"] == before["status"]["podIP"]
        assert "Using the running containerd" in server.tail()
        await client.delete(PODS, "keep", namespace="default")
        await _wait(client, "keep", lambda p: p is None, 30, server)
