"""Run the same command line through the real kubectl and ``k3trio kubectl`` and compare.

``Pair.compare(*args)`` runs both against the same server with separate private homes and
asserts the same exit code, the same stderr (first lines, ages masked) and the same stdout:
tables cell by cell with ages masked (tabwriter alignment is checked on each side: every row's
cells start at the header's column positions), YAML/JSON parsed equal, anything else exactly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_AGE = re.compile(r"^(<invalid>|<unknown>|\d+[smhdy](\d+[smh])?)$")
_KLOG = re.compile(r"^([IWE])\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ ", re.M)
_AGE_IN_TEXT = re.compile(r"\b\d+[smhdy](\d+[smh])?\b")


@dataclass
class Result:
    code: int
    out: str
    err: str


def _column_starts(header: str) -> list[int]:
    starts = [0]
    for m in re.finditer(r" {3,}(\S)", header):
        starts.append(m.start(1))
    return starts


def table_cells(text: str) -> list[list[list[str]]]:
    """Blocks (separated by blank lines) of rows of cells, split at the header's columns.

    Raises AssertionError when a row's cells do not start at the header's column positions.
    """
    blocks: list[list[list[str]]] = []
    for block in text.split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln]
        if not lines:
            continue
        starts = _column_starts(lines[0])
        rows = []
        for ln in lines:
            cells = []
            for i, s in enumerate(starts):
                end = starts[i + 1] if i + 1 < len(starts) else len(ln)
                cell = ln[s:end]
                if i > 0:
                    assert s == 0 or ln[s - 1] == " ", f"misaligned row {ln!r} in\n{block}"
                cells.append(cell.strip())
            rows.append(cells)
        blocks.append(rows)
    return blocks


def mask_ages(blocks: list[list[list[str]]]) -> list[list[list[str]]]:
    return [[[("AGE" if _AGE.match(c) else c) for c in row] for row in rows] for rows in blocks]


class Pair:
    def __init__(self, kubectl: str, kubeconfig: Path, home: Path) -> None:
        self.kubectl = kubectl
        self.kubeconfig = kubeconfig
        self.home_real = home / "real"
        self.home_ours = home / "ours"
        self.home_real.mkdir(parents=True, exist_ok=True)
        self.home_ours.mkdir(parents=True, exist_ok=True)

    def _env(self, home: Path, extra: dict[str, str] | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("K3TRIO_", "KUBECONFIG"))}
        env["HOME"] = str(home)
        if extra:
            env.update(extra)
        return env

    def real(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
             kubeconfig: bool = True) -> Result:
        argv = [self.kubectl] + (["--kubeconfig", str(self.kubeconfig)] if kubeconfig else [])
        p = subprocess.run(argv + list(args), input=input, capture_output=True, text=True,
                           timeout=60, env=self._env(self.home_real, env))
        return Result(p.returncode, p.stdout, p.stderr)

    def ours(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
             kubeconfig: bool = True) -> Result:
        argv = [sys.executable, "-m", "k3trio", "kubectl"] + (
            ["--kubeconfig", str(self.kubeconfig)] if kubeconfig else [])
        p = subprocess.run(argv + list(args), input=input, capture_output=True, text=True,
                           timeout=60, env=self._env(self.home_ours, env))
        return Result(p.returncode, p.stdout, p.stderr)

    def both(self, *args: str, **kw: Any) -> tuple[Result, Result]:
        return self.real(*args, **kw), self.ours(*args, **kw)

    def compare(self, *args: str, mode: str = "auto", stderr: str = "exact",
                **kw: Any) -> tuple[Result, Result]:
        """Run ``args`` through both and assert equal behaviour.

        mode: ``table`` (cells, ages masked), ``data`` (YAML/JSON parsed equal), ``exact``,
        ``auto`` (from the ``-o`` flag). stderr: ``exact``, ``masked`` or ``ignore``.
        """
        real, ours = self.both(*args, **kw)
        ctx = f"\nargs: {args}\nreal rc={real.code}\n{real.out}\n{real.err}\n" \
              f"ours rc={ours.code}\n{ours.out}\n{ours.err}"
        assert real.code == ours.code, "exit codes differ" + ctx
        if stderr != "ignore":
            r_err, o_err = real.err, ours.err
            if stderr == "masked":
                r_err, o_err = _AGE_IN_TEXT.sub("AGE", r_err), _AGE_IN_TEXT.sub("AGE", o_err)
            assert r_err == o_err, "stderr differs" + ctx
        if mode == "auto":
            mode = _mode_for(args)
        if mode == "table":
            assert mask_ages(table_cells(real.out)) == mask_ages(table_cells(ours.out)), \
                "tables differ" + ctx
        elif mode == "yaml":
            assert list(yaml.safe_load_all(real.out)) == list(yaml.safe_load_all(ours.out)), \
                "yaml differs" + ctx
            assert real.out == ours.out, "yaml text differs" + ctx
        elif mode == "masked":  # exact apart from ages (events in describe output)
            assert _AGE_IN_TEXT.sub("AGE", real.out) == _AGE_IN_TEXT.sub("AGE", ours.out), \
                "stdout differs" + ctx
        elif mode == "json":
            assert json.loads(real.out) == json.loads(ours.out), "json differs" + ctx
            assert real.out == ours.out, "json text differs" + ctx
        else:
            import difflib

            diff = "".join(difflib.unified_diff(real.out.splitlines(True),
                                                ours.out.splitlines(True), "real", "ours"))
            assert real.out == ours.out, f"stdout differs\nargs: {args}\n{diff}"
        return real, ours


def _mode_for(args: tuple[str, ...]) -> str:
    out = ""
    for i, a in enumerate(args):
        if a in ("-o", "--output") and i + 1 < len(args):
            out = args[i + 1]
        elif a.startswith(("-o", "--output=")):
            out = a.split("=", 1)[1] if "=" in a else a[2:]
    if out in ("", "wide"):
        return "table"
    if out == "yaml":
        return "yaml"
    if out == "json":
        return "json"
    return "exact"


_VOLATILE_META = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
                  "deletionTimestamp")


def normalize_object(obj: Any, ns: str) -> Any:
    """An object with server-assigned values masked and ``ns`` replaced by ``NS``."""
    text = json.dumps(obj).replace(ns, "NS")
    out = json.loads(text)

    def clean(o: Any) -> None:
        if isinstance(o, dict):
            meta = o.get("metadata")
            if isinstance(meta, dict):
                for k in _VOLATILE_META:
                    meta.pop(k, None)
                ann = meta.get("annotations")
                if isinstance(ann, dict):
                    ann.pop("deployment.kubernetes.io/revision", None)
                    if not ann:
                        meta.pop("annotations")
            o.pop("status", None)
            spec = o.get("spec")
            if isinstance(spec, dict) and o.get("kind") == "Node":
                spec.pop("podCIDR", None)
                spec.pop("podCIDRs", None)
                for t in spec.get("taints") or []:
                    t.pop("timeAdded", None)
                if spec.get("taints"):  # the node controller adds its taint at any moment
                    spec["taints"].sort(key=lambda t: (t.get("key", ""), t.get("effect", "")))
            if isinstance(spec, dict) and o.get("kind") == "Service":
                spec.pop("clusterIP", None)
                spec.pop("clusterIPs", None)
                for port in spec.get("ports") or []:
                    port.pop("nodePort", None)
            for v in o.values():
                clean(v)
        elif isinstance(o, list):
            for v in o:
                clean(v)

    clean(out)
    return out


class Twin:
    """Run a command sequence through each kubectl in its own namespace and compare."""

    def __init__(self, pair: Pair, real_ns: str, ours_ns: str) -> None:
        self.pair = pair
        self.real_ns = real_ns
        self.ours_ns = ours_ns

    def run(self, *args: str, input: str | None = None, stdout: str = "exact",
            stderr: str = "exact") -> tuple[Result, Result]:
        r_args = [a.replace("{ns}", self.real_ns) for a in args]
        o_args = [a.replace("{ns}", self.ours_ns) for a in args]
        r_in = input.replace("{ns}", self.real_ns) if input else None
        o_in = input.replace("{ns}", self.ours_ns) if input else None
        real = self.pair.real("-n", self.real_ns, *r_args, input=r_in)
        ours = self.pair.ours("-n", self.ours_ns, *o_args, input=o_in)
        r_out, o_out = real.out.replace(self.real_ns, "NS"), ours.out.replace(self.ours_ns, "NS")
        r_err, o_err = real.err.replace(self.real_ns, "NS"), ours.err.replace(self.ours_ns, "NS")
        ctx = f"\nargs: {args}\nreal rc={real.code}\n{r_out}\n{r_err}\nours rc={ours.code}\n{o_out}\n{o_err}"
        assert real.code == ours.code, "exit codes differ" + ctx
        if stdout == "exact":
            assert r_out == o_out, "stdout differs" + ctx
        elif stdout == "table":
            assert mask_ages(table_cells(r_out)) == mask_ages(table_cells(o_out)), \
                "tables differ" + ctx
        elif stdout == "yaml":
            assert normalize_object(yaml.safe_load(r_out), "NS") == \
                normalize_object(yaml.safe_load(o_out), "NS"), "objects differ" + ctx
        if stderr == "klog":
            r_err, o_err = _KLOG.sub("W", r_err), _KLOG.sub("W", o_err)
        if stderr in ("exact", "klog"):
            assert r_err == o_err, "stderr differs" + ctx
        elif stderr == "first":
            assert r_err.splitlines()[:1] == o_err.splitlines()[:1], "stderr differs" + ctx
        return real, ours

    def same_objects(self, *get_args: str) -> None:
        real = self.pair.real("get", *get_args, "-n", self.real_ns, "-o", "json")
        ours = self.pair.real("get", *get_args, "-n", self.ours_ns, "-o", "json")
        assert real.code == ours.code == 0, real.err + ours.err
        r = normalize_object(json.loads(real.out), self.real_ns)
        o = normalize_object(json.loads(ours.out), self.ours_ns)
        assert r == o, f"objects differ after the same commands:\nreal {r}\nours {o}"
