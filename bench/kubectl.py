"""Wall time of ``k3trio kubectl get pods`` against the real kubectl on one server.

Usage: ``python bench/kubectl.py [--runs N] [--kubeconfig FILE]``. Without a kubeconfig it
starts a ``k3trio server --disable-agent`` on a free port. Prints the median and best wall
time of each command and of the bare Python import of the command path. Target: <= 400 ms.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _time(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr.decode()}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--kubeconfig")
    args = parser.parse_args()
    server = None
    kubeconfig = args.kubeconfig
    if kubeconfig is None:
        from tests.integration._server import ServerProcess

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = ServerProcess(Path(tempfile.mkdtemp()) / "data", port).start()
        server.wait_ready(30)
        kubeconfig = str(server.kubeconfig)
    home = tempfile.mkdtemp()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("K3TRIO_", "KUBECONFIG"))}
    env["HOME"] = home
    kubectl = str(Path(sys.executable).parent / "kubectl")
    try:
        cases = {
            "kubectl get pods": [kubectl, "--kubeconfig", kubeconfig, "get", "pods"],
            "k3trio kubectl get pods": [sys.executable, "-m", "k3trio", "kubectl",
                                        "--kubeconfig", kubeconfig, "get", "pods"],
            "k3trio kubectl version --client": [sys.executable, "-m", "k3trio", "kubectl",
                                                "version", "--client"],
            "python startup": [sys.executable, "-c", "pass"],
        }
        for name, argv in cases.items():
            _time(argv, env, 1)  # warm discovery caches and the page cache
            t = _time(argv, env, args.runs)
            print(f"{name:36s} median {statistics.median(t) * 1000:7.1f} ms   "
                  f"best {min(t) * 1000:7.1f} ms")
    finally:
        if server is not None:
            server.kill()


if __name__ == "__main__":
    main()
