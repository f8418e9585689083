"""Logs, exec and port-forward with real kubectl through the API server, the kubelet API and
containerd's streaming server (``k3trio server`` with its agent, busybox from a tarball).

Needs what ``test_pods`` needs (root, containerd, runc, CNI plugins, busybox-static); skipped
with the reason when they are missing, except in CI (``CI=true``), where that is a failure.
One server for the module: the cases share it and each uses its own pods.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k3trio.agent.images import busybox_image, ensure_archive
from tests.e2e.test_pods import _REASON, AgentServer

if _REASON is not None:
    pytestmark = pytest.mark.skip(reason=_REASON)

IMAGE = "busybox:latest"


def kubectl_bin() -> str:
    return str(Path(sys.prefix) / "bin" / "kubectl")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentServer]:
    server = AgentServer(tmp_path_factory.mktemp("streaming") / "data")
    ensure_archive(server.data_dir / "agent" / "images" / "busybox.tar", busybox_image())
    server.start()
    try:
        deadline = time.monotonic() + 60
        while not server.kubeconfig.exists():
            assert server.proc is not None and server.proc.poll() is None, server.tail()
            assert time.monotonic() < deadline, server.tail()
            time.sleep(0.2)
        env = dict(os.environ, KUBECONFIG=str(server.kubeconfig))
        ready = ["get", "node", server.node, "-o",
                 "jsonpath={.status.conditions[?(@.type=='Ready')].status}"]
        for check, want in ((["get", "serviceaccount", "default", "-o", "name"], b"serviceaccount/default"),
                            (ready, b"True")):
            while subprocess.run([kubectl_bin(), *check], capture_output=True, env=env).stdout.strip() != want:
                assert time.monotonic() < deadline + 60, server.tail()
                time.sleep(0.3)
        yield server
    finally:
        server.stop()


def kctl(srv: AgentServer, kubectl_path: str, *args: str, input: bytes | None = None,
            timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, KUBECONFIG=str(srv.kubeconfig))
    proc = subprocess.run([kubectl_path, *args], input=input, capture_output=True, env=env,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr, srv.tail())
    return proc


def wait_for(srv: AgentServer, kubectl_path: str, name: str, jsonpath: str, want: Any,
             timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    got = b""
    while time.monotonic() < deadline:
        got = kctl(srv, kubectl_path, "get", "pod", name, "-o", f"jsonpath={jsonpath}",
                      check=False).stdout
        if want(got.decode()):
            return
        time.sleep(0.3)
    raise AssertionError(f"pod {name}: {jsonpath} never matched; last {got!r}\n{srv.tail()}")


def run_pod(srv: AgentServer, kubectl_path: str, name: str, script: str, *extra: str) -> None:
    kctl(srv, kubectl_path, "run", name, f"--image={IMAGE}", "--image-pull-policy=Never",
            *extra, "--", "sh", "-c", script)


def test_logs(srv: AgentServer, kubectl: str) -> None:
    k = kubectl
    run_pod(srv, k, "lg", "for i in 1 2 3; do echo out $i; done; echo err >&2; sleep 3600",
            "--restart=Never")
    wait_for(srv, k, "lg", "{.status.phase}", lambda v: v == "Running")
    deadline = time.monotonic() + 20
    while b"err" not in kctl(srv, k, "logs", "lg", check=False).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    out = kctl(srv, k, "logs", "lg").stdout
    assert sorted(out.decode().splitlines()) == ["err", "out 1", "out 2", "out 3"]
    tail = kctl(srv, k, "logs", "lg", "--tail=1", "--timestamps", "-c", "lg").stdout
    stamp, _, line = tail.decode().rstrip("\n").partition(" ")
    assert line in ("err", "out 3") and stamp.endswith("Z") and len(stamp) == 30
    missing = kctl(srv, k, "logs", "lg", "-c", "nope", check=False)
    assert missing.returncode != 0
    assert b"container nope is not valid for pod lg" in missing.stderr
    previous = kctl(srv, k, "logs", "lg", "--previous", check=False)
    assert b'previous terminated container "lg" in pod "lg" not found' in previous.stderr


def test_logs_follow_ends_with_container(srv: AgentServer, kubectl: str) -> None:
    k = kubectl
    run_pod(srv, k, "fl", "sleep 2; for i in 1 2 3; do echo tick $i; sleep 0.3; done",
            "--restart=Never")
    wait_for(srv, k, "fl", "{.status.phase}", lambda v: v in ("Running", "Succeeded"))
    out = kctl(srv, k, "logs", "-f", "fl", timeout=30).stdout
    assert out == b"tick 1\ntick 2\ntick 3\n"


def test_crashloop_previous_logs(srv: AgentServer, kubectl: str) -> None:
    k = kubectl
    run_pod(srv, k, "crash", "echo run at $(date +%s%N); exit 1", "--restart=Always")
    wait_for(srv, k, "crash", "{.status.containerStatuses[0].restartCount}",
             lambda v: v.isdigit() and int(v) >= 1)
    wait_for(srv, k, "crash", "{.status.containerStatuses[0].lastState.terminated.exitCode}",
             lambda v: v == "1")
    prev = kctl(srv, k, "logs", "crash", "--previous").stdout
    assert prev.startswith(b"run at ")


def test_exec(srv: AgentServer, kubectl: str) -> None:
    k = kubectl
    run_pod(srv, k, "ex", "sleep 3600", "--restart=Never")
    wait_for(srv, k, "ex", "{.status.phase}", lambda v: v == "Running")
    plain = kctl(srv, k, "exec", "ex", "--", "sh", "-c", "echo hi; echo oops >&2")
    assert plain.stdout == b"hi\n" and plain.stderr == b"oops\n"
    code = kctl(srv, k, "exec", "ex", "--", "sh", "-c", "exit 3", check=False)
    assert code.returncode == 3
    piped = kctl(srv, k, "exec", "-i", "ex", "--", "sh", "-c", "cat; echo done",
                                 input=b"from stdin\n")
    assert piped.stdout == b"from stdin\ndone\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_port_forward_to_httpd(srv: AgentServer, kubectl: str) -> None:
    k = kubectl
    run_pod(srv, k, "web", "mkdir -p /www && echo hello-from-httpd > /www/index.html && "
            "exec httpd -f -p 8080 -h /www", "--restart=Never")
    wait_for(srv, k, "web", "{.status.phase}", lambda v: v == "Running")
    port = _free_port()
    env = dict(os.environ, KUBECONFIG=str(srv.kubeconfig))
    proc = subprocess.Popen([k, "port-forward", "pod/web", f"{port}:8080"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        body = b""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as r:
                    body = r.read()
                break
            except OSError:
                time.sleep(0.2)
        assert body == b"hello-from-httpd\n", srv.tail()
    finally:
        proc.terminate()
        proc.wait(10)

