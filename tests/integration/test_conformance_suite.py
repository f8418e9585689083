"""The black-box conformance suite passes against a real k3trio server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ._server import ServerProcess
from ..conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_conformance_suite_passes(tmp_path):
    srv = ServerProcess(tmp_path / "data", free_port()).start()
    try:
        srv.wait_ready()
        proc = subprocess.run(
            [str(ROOT / "conformance" / "run"), "--kubeconfig", str(srv.kubeconfig)],
            capture_output=True,
            text=True,
            timeout=600,
            env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        last = proc.stdout.strip().splitlines()[-1]
        assert last.endswith(" 0 failed") and not last.startswith("0 passed"), proc.stdout
        assert "Summary by area:" in proc.stdout
    finally:
        srv.kill()
