"""Run ``k3trio server`` as a subprocess on a free port, for integration tests."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml


class ServerProcess:
    """A ``k3trio server --disable-agent`` child with its own data dir and kubeconfig."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        command: list[str] | None = None,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.kubeconfig = data_dir / "kubeconfig.yaml"
        self.command = command or [sys.executable, "-m", "k3trio"]
        self.extra = extra or []
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"
        self.started_at = 0.0

    def args(self) -> list[str]:
        return [
            *self.command,
            "server",
            "--data-dir", str(self.data_dir),
            "--https-listen-port", str(self.port),
            "--bind-address", "127.0.0.1",
            "--write-kubeconfig", str(self.kubeconfig),
            "--disable-agent",
            *self.extra,
        ]

    def start(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=log, env=self.env)
        return self

    def wait_ready(self, timeout: float = 15.0) -> float:
        """Poll /readyz with the admin certificate; return seconds since start."""
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.log()}")
            if self.kubeconfig.exists():
                try:
                    if self.get("/readyz", timeout=1) == (200, b"ok"):
                        return time.monotonic() - self.started_at
                except OSError:
                    pass
            time.sleep(0.05)
        raise TimeoutError(f"server not ready after {timeout}s:\n{self.log()}")

    def ssl_context(self, *, client_cert: bool = True) -> ssl.SSLContext:
        cfg = yaml.safe_load(self.kubeconfig.read_text())
        import base64
        import tempfile

        ca = base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"])
        ctx = ssl.create_default_context(cadata=ca.decode())
        if client_cert:
            user = cfg["users"][0]["user"]
            with tempfile.TemporaryDirectory() as tmp:
                cert = Path(tmp) / "c.pem"
                key = Path(tmp) / "k.pem"
                cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
                key.write_bytes(base64.b64decode(user["client-key-data"]))
                ctx.load_cert_chain(cert, key)
        return ctx

    def get(self, path: str, *, timeout: float = 5, client_cert: bool = True) -> tuple[int, bytes]:
        url = f"https://127.0.0.1:{self.port}{path}"
        ctx = self.ssl_context(client_cert=client_cert)
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def token_of(data_dir: Path) -> str:
    return (data_dir / "server" / "token").read_text().strip()


def ca_of(data_dir: Path) -> bytes:
    return (data_dir / "server" / "tls" / "server-ca.crt").read_bytes()


def env_without_venv() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("K3TRIO_")}
