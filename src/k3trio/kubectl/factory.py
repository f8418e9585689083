"""The per-invocation context every command uses (kubectl's ``Factory``).

Built from the global flags; the kubeconfig, the connection, the REST client and discovery
are created on first use, so commands that need none of them (``version --client``,
``config view``) never load or connect anything.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

from .kubeconfig import Connection, KubeConfig, Overrides, load

__all__ = ["Factory"]


class Factory:
    def __init__(self, overrides: Overrides, *, cache_dir: str | None = None,
                 stdout: IO[str] | None = None, stderr: IO[str] | None = None,
                 stdin: IO[str] | None = None, warnings_as_errors: bool = False) -> None:
        self.overrides = overrides
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else (
            Path(os.environ.get("HOME") or Path.home()) / ".kube" / "cache")
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr
        self.stdin = stdin or sys.stdin
        self._config: KubeConfig | None = None
        self._conn: Connection | None = None
        self._client: Any = None
        self._discovery: Any = None

    @property
    def config(self) -> KubeConfig:
        if self._config is None:
            self._config = load(self.overrides.kubeconfig)
        return self._config

    def reload_config(self) -> KubeConfig:
        self._config = None
        return self.config

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.config.connection(self.overrides)
        return self._conn

    @property
    def namespace(self) -> str:
        return self.connection.namespace

    @property
    def namespace_explicit(self) -> bool:
        return bool(self.overrides.namespace)

    @property
    def client(self) -> Any:
        if self._client is None:
            from .rest import RestClient

            self._client = RestClient(self.connection)
        return self._client

    @property
    def discovery(self) -> Any:
        if self._discovery is None:
            from .discovery import Discovery

            self._discovery = Discovery(self.client, self.cache_dir)
        return self._discovery

    def warn(self, text: str) -> None:
        self.err.write(f"Warning: {text}\n")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
