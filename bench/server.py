"""Server start-up benchmark: time to /readyz and idle RSS of ``k3trio server --disable-agent``.

Usage: python bench/server.py [--file dist/k3trio-x86_64] [--settle 5]
Prints the figures and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration._server import ServerProcess  # noqa: E402


def rss_kib(pid: int) -> tuple[int, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", help="run this single-file build instead of the source tree")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before measuring")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [args.file] if args.file else [sys.executable, "-m", "k3trio"]
    with tempfile.TemporaryDirectory() as tmp:
        srv = ServerProcess(Path(tmp) / "data", port, command=command)
        srv.start()
        try:
            first = srv.wait_ready(timeout=30)
            time.sleep(args.settle)
            assert srv.proc is not None
            rss, hwm = rss_kib(srv.proc.pid)
            t0 = time.monotonic()
            code = srv.stop(signal.SIGTERM, timeout=15)
            stop = time.monotonic() - t0
            srv.start()
            second = srv.wait_ready(timeout=30)
            srv.stop(signal.SIGTERM, timeout=15)
        finally:
            srv.kill()
    figures = {
        "bench": "server",
        "variant": "file" if args.file else "source",
        "ready_first_start_s": round(first, 3),
        "ready_restart_s": round(second, 3),
        "idle_rss_mib": round(rss / 1024, 1),
        "peak_rss_mib": round(hwm / 1024, 1),
        "sigterm_exit_s": round(stop, 3),
        "sigterm_exit_code": code,
    }
    print(f"ready after first start   {first:6.2f} s")
    print(f"ready after restart       {second:6.2f} s")
    print(f"idle RSS                  {rss / 1024:6.1f} MiB (peak {hwm / 1024:.1f} MiB)")
    print(f"SIGTERM to exit           {stop:6.2f} s (exit {code})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
