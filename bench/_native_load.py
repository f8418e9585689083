"""Native load generators for bench/api.py: ``wrk`` (HTTP/1.1) and ``h2load`` (HTTP/2).

A Python client spends more CPU per request than the server does, so on a small machine it
measures itself. ``wrk`` and ``h2load`` (Debian packages ``wrk`` and ``nghttp2-client``) keep
32 TLS connections busy for a fraction of a core. Neither presents client certificates, so
the phases authenticate with a bearer token (a ServiceAccount bound to cluster-admin), which
the API server verifies once and then remembers for 10 s, as kube-apiserver does.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["available", "h2load_phase", "wrk_phase"]

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def available() -> bool:
    """True when both generators are installed."""
    return shutil.which("wrk") is not None and shutil.which("h2load") is not None


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, p50/p99 (ms), completed requests and non-2xx answers from ``wrk --latency``."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M))
    done = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    n_errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return {"rps": round(rps, 1), "p50_ms": round(_ms(pct["50"]), 2), "p99_ms": round(_ms(pct["99"]), 2),
            "requests": done, "errors": n_errors}


def wrk_phase(url: str, token: str, *, clients: int, duration: float,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
    """``clients`` HTTP/1.1 keep-alive connections for ``duration`` seconds (POST ``body`` if given)."""
    argv = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(duration))}s", "--latency",
            "-H", f"Authorization: Bearer {token}"]
    with tempfile.TemporaryDirectory() as tmp:
        if body is not None:
            script = Path(tmp, "post.lua")
            payload = json.dumps(body).replace("\\", "\\\\").replace('"', '\\"')
            script.write_text('wrk.method = "POST"\n'
                              'wrk.headers["Content-Type"] = "application/json"\n'
                              f'wrk.body = "{payload}"\n')
            argv += ["-s", str(script)]
        out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    result = parse_wrk(out)
    result["client"] = "wrk"
    return result


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def h2load_phase(url: str, token: str, *, clients: int, duration: float,
                 body: dict[str, Any] | None = None) -> dict[str, Any]:
    """``clients`` HTTP/2 connections with one stream each for ``duration`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp, "requests.log")
        argv = ["h2load", f"-c{clients}", "-m1", "-t1", f"-D{max(1, round(duration))}",
                "-H", f"Authorization: Bearer {token}", "--log-file", str(log)]
        if body is not None:
            data = Path(tmp, "body.json")
            data.write_text(json.dumps(body))
            argv += ["-d", str(data), "-H", "Content-Type: application/json"]
        out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
        # Each line: start time (us since epoch), status code, duration (us).
        rows = [line.split("\t") for line in log.read_text().splitlines() if line.strip()]
    ok = [int(r[2]) / 1000 for r in rows if r[1].startswith("2")]
    elapsed = float(re.search(r"finished in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    return {"rps": round(len(ok) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(_percentile(ok, 50), 2) if ok else float("nan"),
            "p99_ms": round(_percentile(ok, 99), 2) if ok else float("nan"),
            "requests": len(ok), "errors": len(rows) - len(ok), "client": "h2load"}
