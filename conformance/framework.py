"""A small black-box test framework: cases named after upstream conformance behaviours.

A case is a plain function taking a ``Cluster`` (an HTTPS client built from a kubeconfig)
and raising ``AssertionError`` (or any exception) to fail. ``@case`` registers it with its
area (``api-machinery``, ``apps``, ``node``, ``network``, ...) and the upstream conformance
codenames it covers, so the runner can report coverage of ``conformance_tests.tsv``.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml


@dataclass(frozen=True)
class Case:
    area: str
    name: str
    covers: tuple[str, ...]
    fn: Callable[[Cluster], None]


CASES: list[Case] = []


def case(area: str, *covers: str) -> Callable[[Callable[[Cluster], None]], Callable[[Cluster], None]]:
    """Register a conformance case; ``covers`` are upstream codenames (without tags is fine)."""

    def register(fn: Callable[[Cluster], None]) -> Callable[[Cluster], None]:
        name = (fn.__doc__ or fn.__name__).strip().splitlines()[0]
        CASES.append(Case(area, name, tuple(covers), fn))
        return fn

    return register


@dataclass
class Cluster:
    """What a case talks to: the API server named by a kubeconfig's current context."""

    server: str
    ssl_context: ssl.SSLContext
    headers: dict[str, str] = field(default_factory=dict)
    anonymous_context: ssl.SSLContext | None = None

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None) -> Cluster:
        cfg = yaml.safe_load(path.read_text())
        ctx_name = context or cfg.get("current-context")
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        sslctx = ssl.create_default_context()
        anon = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
            sslctx.load_verify_locations(cadata=ca)
            anon.load_verify_locations(cadata=ca)
        elif "certificate-authority" in cluster:
            sslctx.load_verify_locations(cluster["certificate-authority"])
            anon.load_verify_locations(cluster["certificate-authority"])
        if cluster.get("insecure-skip-tls-verify"):
            for c in (sslctx, anon):
                c.check_hostname = False
                c.verify_mode = ssl.CERT_NONE
        headers = {}
        if "client-certificate-data" in user:
            with tempfile.TemporaryDirectory() as tmp:
                cert, key = Path(tmp) / "c", Path(tmp) / "k"
                cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
                key.write_bytes(base64.b64decode(user["client-key-data"]))
                os.chmod(key, 0o600)
                sslctx.load_cert_chain(cert, key)
        elif "client-certificate" in user:
            sslctx.load_cert_chain(user["client-certificate"], user["client-key"])
        if "token" in user:
            headers["Authorization"] = f"Bearer {user['token']}"
        return cls(cluster["server"].rstrip("/"), sslctx, headers, anon)

    def request(self, method: str, path: str, *, anonymous: bool = False, **kwargs: Any) -> httpx.Response:
        verify = self.anonymous_context if anonymous else self.ssl_context
        headers = {} if anonymous else dict(self.headers)
        headers.update(kwargs.pop("headers", {}))
        with httpx.Client(verify=verify, timeout=30) as client:
            return client.request(method, self.server + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)
