"""``kubectl diff -f``: what ``apply`` would change, from a server-side dry run.

For each manifest the live object and the dry-run result (client-side apply's patch, or a
create, or with ``--server-side`` an apply patch, each with ``dryRun=All``) are written as
YAML under ``LIVE-*`` and ``MERGED-*`` directories and compared with
``$KUBECTL_EXTERNAL_DIFF`` or ``diff -u -N``. Exit status as kubectl: 0 no differences,
1 differences, >1 an error.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import FILE_FLAGS, place
from .rest import StatusError

SHORT = "Diff the live version against a would-be applied version"
USAGE = "kubectl diff -f FILENAME"
FLAGS = FILE_FLAGS + [
    Flag("concurrency", "int", 1, "Number of objects to process in parallel when diffing against the live version."),
    Flag("field-manager", "string", "kubectl-client-side-apply", "Name of the manager used to track field ownership."),
    Flag("force-conflicts", "bool", False, "If true, server-side apply will force the changes against conflicts."),
    Flag("prune", "bool", False, "Include resources that would be deleted by pruning."),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("server-side", "bool", False, "If true, apply runs in the server instead of the client."),
    Flag("show-managed-fields", "bool", False, "If true, include managed fields in the diff."),
]

_MASK = ("managedFields", "generation", "resourceVersion")


def _clean(obj: dict[str, Any] | None, show_managed: bool) -> dict[str, Any] | None:
    if obj is None:
        return None
    obj = json.loads(json.dumps(obj))
    meta = obj.get("metadata") or {}
    if not show_managed:
        meta.pop("managedFields", None)
    return obj


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from .apply import LAST_APPLIED, last_applied_text
    from .printers.yamlfmt import dump_yaml, go_json_compact
    from .resources import load_manifests
    from .threeway import three_way_json_merge, three_way_strategic

    if not opts["filename"]:
        raise CommandError("error: must specify one of -f and -k")
    root = Path(tempfile.mkdtemp(prefix="k3trio-diff-"))
    live_dir, merged_dir = root / f"LIVE-{os.getpid()}", root / f"MERGED-{os.getpid()}"
    live_dir.mkdir()
    merged_dir.mkdir()
    try:
        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            w = place(f, m.obj, m.source)
            try:
                live: dict[str, Any] | None = f.client.get(w.path())
            except StatusError as exc:
                if exc.code != 404:
                    raise
                live = None
            params = {"dryRun": "All", "fieldManager": opts["field_manager"]}
            if opts["server_side"]:
                params["fieldManager"] = "kubectl" if "field_manager" not in opts["__changed__"] \
                    else opts["field_manager"]
                if opts["force_conflicts"]:
                    params["force"] = "true"
                merged = f.client.json("PATCH", w.path(), params=params,
                                       data=go_json_compact(m.obj).encode(),
                                       content_type="application/apply-patch+yaml")
            elif live is None:
                merged = f.client.json("POST", w.collection(), params=params, body=m.obj)
            else:
                # kubectl diff does not stamp a new last-applied annotation
                modified = json.loads(last_applied_text(m.obj))
                text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
                original = json.loads(text) if text else None
                patch = three_way_strategic(original, modified, live)
                ctype = "application/strategic-merge-patch+json"
                if patch is None:
                    patch = three_way_json_merge(original, modified, live)
                    ctype = "application/merge-patch+json"
                merged = live if not patch else f.client.json(
                    "PATCH", w.path(), params=params, body=patch, content_type=ctype)
            group = w.resource.group
            name = ".".join(p for p in (w.resource.api_version.replace("/", "."), w.resource.kind,
                                         w.namespace or "", w.name) if p)
            if group == "":
                name = ".".join(p for p in (w.resource.version, w.resource.kind, w.namespace or "",
                                             w.name) if p)
            if live is not None:
                (live_dir / name).write_text(dump_yaml(_clean(live, opts["show_managed_fields"])))
            (merged_dir / name).write_text(dump_yaml(_clean(merged, opts["show_managed_fields"])))
        external = os.environ.get("KUBECTL_EXTERNAL_DIFF")
        cmd = shlex.split(external) if external else ["diff", "-u", "-N"]
        f.out.flush()
        proc = subprocess.run(cmd + [str(live_dir), str(merged_dir)], stdout=subprocess.PIPE)
        f.out.write(proc.stdout.decode("utf-8", "replace"))
        if proc.returncode > 1:
            return proc.returncode
        return proc.returncode
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
