"""``kubectl edit``: open objects in ``$KUBE_EDITOR``/``$EDITOR`` (default ``vi``) as YAML
(or JSON with ``-o json``), then send what changed as a merge patch.

Comment lines (``#``) are ignored; an empty file or an unchanged object cancels with
``Edit cancelled, no changes made.``; a failed save reopens the file with the error on top,
as kubectl does, unless the file did not change since the failure.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from typing import Any

from .errors import CommandError, message_for
from .factory import Factory
from .flags import Flag
from .mutate import FILE_FLAGS, OUTPUT_FLAGS, report
from .rest import StatusError

SHORT = "Edit a resource on the server"
USAGE = "kubectl edit (RESOURCE/NAME | -f FILENAME)"
FLAGS = FILE_FLAGS + OUTPUT_FLAGS + [
    Flag("field-manager", "string", "kubectl-edit", "Name of the manager used to track field ownership."),
    Flag("output-patch", "bool", False, "Output the patch if the resource is edited."),
    Flag("save-config", "bool", False, "If true, the configuration of current object will be saved in its annotation."),
    Flag("subresource", "string", "", "If specified, edit will operate on the subresource of the requested object."),
    Flag("validate", "string", "strict", "", no_opt="strict"),
    Flag("windows-line-endings", "bool", False, "Defaults to the line ending native to your platform."),
]

HEADER = ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
          "# and an empty file will abort the edit. If an error occurs while saving this file "
          "will be\n# reopened with the relevant failures.\n#\n")


def _editor() -> list[str]:
    for var in ("KUBE_EDITOR", "EDITOR"):
        value = os.environ.get(var)
        if value:
            return shlex.split(value)
    return ["vi"]


def _strip(text: str) -> str:
    return "".join(ln for ln in text.splitlines(True) if not ln.lstrip().startswith("#"))


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from .resources import load_manifests, parse_targets

    items: list[tuple[Any, dict[str, Any]]] = []
    if opts["filename"]:
        from .mutate import place

        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            w = place(f, m.obj, m.source)
            items.append((w.resource, f.client.get(w.path())))
    else:
        if not args:
            raise CommandError("error: must provide one or more resources by argument or filename")
        targets, _ = parse_targets(f.discovery, args, command="edit")
        for t in targets:
            ns = f.namespace if t.resource.namespaced else None
            if not t.names:
                for i in f.client.get(t.resource.path(ns)).get("items") or []:
                    items.append((t.resource, {"apiVersion": t.resource.api_version,
                                               "kind": t.resource.kind, **i}))
            for n in t.names:
                items.append((t.resource, f.client.get(t.resource.path(ns, n, opts["subresource"] or None))))
    if not items:
        raise CommandError("error: edit cancelled, no objects found")
    as_json = opts["output"] == "json"
    code = 0
    for res, obj in items:
        code |= _edit_one(f, res, obj, as_json, opts)
    return code


def _render(obj: dict[str, Any], as_json: bool) -> str:
    clean = dict(obj)
    meta = dict(clean.get("metadata") or {})
    meta.pop("managedFields", None)
    clean["metadata"] = meta
    if as_json:
        from .printers.yamlfmt import go_json_indent

        return go_json_indent(clean)
    from .printers.yamlfmt import dump_yaml

    return dump_yaml(clean)


def _edit_one(f: Factory, res: Any, obj: dict[str, Any], as_json: bool, opts: dict[str, Any]) -> int:
    import yaml

    original_text = _render(obj, as_json)
    original = json.loads(json.dumps(yaml.safe_load(original_text)))
    body = HEADER + original_text
    error_note = ""
    while True:
        fd, path = tempfile.mkstemp(prefix=f"{res.resource}-edit-", suffix=".json" if as_json else ".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(error_note + body)
        try:
            proc = subprocess.run(_editor() + [path])
            if proc.returncode != 0:
                raise CommandError(f"error: there was a problem with the editor {_editor()}")
            with open(path, encoding="utf-8") as fh:
                edited_text = fh.read()
        finally:
            os.unlink(path)
        stripped = _strip(edited_text)
        if not stripped.strip():
            f.err.write("Edit cancelled, no changes made.\n")
            return 0
        try:
            edited = yaml.safe_load(stripped)
        except yaml.YAMLError as exc:
            raise CommandError(f"error: {exc}") from exc
        if edited == original:
            f.err.write("Edit cancelled, no changes made.\n")
            return 0
        from ..api.patch import create_merge_patch

        patch = create_merge_patch(original, edited)
        if opts["output_patch"]:
            f.out.write(f"Patch: {json.dumps(patch, separators=(',', ':'))}\n")
        meta = obj.get("metadata") or {}
        try:
            result = f.client.json(
                "PATCH", res.path(meta.get("namespace"), meta.get("name"), opts["subresource"] or None),
                params={"fieldManager": opts["field_manager"]}, body=patch,
                content_type="application/merge-patch+json")
        except StatusError as exc:
            if stripped == _strip(body):
                raise
            error_note = "# " + message_for(exc).replace("\n", "\n# ") + "\n#\n"
            body = HEADER + stripped
            continue
        report(f, opts, res, result, "edited")
        return 0
