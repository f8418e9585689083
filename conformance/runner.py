"""Run the registered conformance cases and print a summary per area.

The last line is ``N passed, N failed``; the exit status is 1 when any case failed.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from framework import CASES, Cluster  # noqa: E402

UPSTREAM = HERE.parent.parent / "shared" / "reference" / "conformance_tests.tsv"


def load_cases() -> None:
    import cases

    for mod in pkgutil.iter_modules(cases.__path__):
        importlib.import_module(f"cases.{mod.name}")


def upstream_codenames() -> list[str]:
    for path in (UPSTREAM, HERE / "conformance_tests.tsv"):
        if path.exists():
            lines = path.read_text().splitlines()[1:]
            return [line.split("\t", 1)[0] for line in lines if line.strip()]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance/run", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig of the cluster under test")
    parser.add_argument("--context", help="kubeconfig context (default: current-context)")
    parser.add_argument("--area", action="append", help="only cases of this area (repeatable)")
    parser.add_argument("-k", dest="match", help="only cases whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    load_cases()
    selected = [
        c for c in CASES
        if (not args.area or c.area in args.area) and (not args.match or args.match in c.name)
    ]
    if args.list:
        for c in selected:
            print(f"{c.area}\t{c.name}")
        return 0
    if args.kubeconfig is None:
        parser.error("--kubeconfig is required")
    cluster = Cluster.from_kubeconfig(args.kubeconfig, args.context)
    results: dict[str, list[tuple[str, bool, float]]] = defaultdict(list)
    for c in selected:
        start = time.monotonic()
        try:
            c.fn(cluster)
        except Exception:
            ok = False
            detail = traceback.format_exc(limit=3)
        else:
            ok, detail = True, ""
        elapsed = time.monotonic() - start
        results[c.area].append((c.name, ok, elapsed))
        print(f"{'PASS' if ok else 'FAIL'}  [{c.area}] {c.name} ({elapsed:.2f}s)")
        if not ok:
            print("      " + detail.rstrip().replace("\n", "\n      "))
    print("\nSummary by area:")
    passed = failed = 0
    for area in sorted(results):
        p = sum(1 for _, ok, _ in results[area] if ok)
        f = len(results[area]) - p
        passed, failed = passed + p, failed + f
        print(f"  {area:<16} {p} passed, {f} failed")
    upstream = upstream_codenames()
    if upstream:
        covered = {cov for c in selected for cov in c.covers}
        known = sum(1 for name in upstream if any(name.startswith(cov) for cov in covered))
        print(f"Upstream conformance behaviours with cases: {known} of {len(upstream)}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
