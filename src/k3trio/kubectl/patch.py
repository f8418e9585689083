"""``kubectl patch``: strategic (default), merge or JSON patch from ``-p`` or ``--patch-file``.

The patch text may be YAML or JSON (kubectl converts YAML to JSON first). The result line is
``<kind.group>/<name> patched``, or ``patched (no change)`` when the object did not change
(same resourceVersion).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, FILE_FLAGS, OUTPUT_FLAGS, dry_run_mode, report, write_params

SHORT = "Update fields of a resource"
USAGE = "kubectl patch (-f FILENAME | TYPE NAME) [-p PATCH|--patch-file FILE]"
TYPES = {"json": "application/json-patch+json", "merge": "application/merge-patch+json",
         "strategic": "application/strategic-merge-patch+json"}
FLAGS = FILE_FLAGS + OUTPUT_FLAGS + [
    DRY_RUN_FLAG,
    Flag("field-manager", "string", "kubectl-patch", "Name of the manager used to track field ownership."),
    Flag("local", "bool", False, "If true, patch will operate on the content of the file, not the server-side resource."),
    Flag("patch", "string", "", "The patch to be applied to the resource JSON file.", short="p"),
    Flag("patch-file", "string", "", "A file containing a patch to be applied to the resource."),
    Flag("subresource", "string", "", "If specified, patch will operate on the subresource of the requested object."),
    Flag("type", "string", "strategic", "The type of patch being provided; one of [json merge strategic]"),
]


def patch_body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CommandError(f"error: unable to parse \"{text}\": {exc}") from exc


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if opts["patch"] and opts["patch_file"]:
        raise CommandError("error: both patch and patch-file cannot be specified")
    text = opts["patch"]
    if opts["patch_file"]:
        with open(opts["patch_file"], encoding="utf-8") as fh:
            text = fh.read()
    if not text:
        raise CommandError("error: must specify -p to patch")
    ptype = opts["type"]
    if ptype not in TYPES:
        raise CommandError(f"error: --type must be one of [json merge strategic], not \"{ptype}\"")
    body = patch_body(text)
    from .resources import load_manifests, parse_targets

    objects: list[tuple[Any, str | None, str]] = []
    if opts["filename"]:
        from .mutate import place

        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            w = place(f, m.obj, m.source)
            objects.append((w.resource, w.namespace, w.name))
    else:
        targets, _ = parse_targets(f.discovery, args, command="patch")
        for t in targets:
            if not t.names:
                raise CommandError("error: resource(s) were provided, but no name was specified")
            ns = f.namespace if t.resource.namespaced else None
            objects.extend((t.resource, ns, n) for n in t.names)
    if not objects:
        raise CommandError("error: You must provide one or more resources by argument or "
                           "filename.")
    data = json.dumps(body, separators=(",", ":")).encode()
    for res, ns, name in objects:
        path = res.path(ns, name, opts["subresource"] or None)
        if dry_run_mode(opts) == "client":
            obj = f.client.get(path)
            report(f, opts, res, obj, "patched")
            continue
        before = f.client.get(path) if not opts["output"] else None
        result = f.client.json("PATCH", path, params=write_params(opts, opts["field_manager"],
                                                                  validate=False),
                               data=data, content_type=TYPES[ptype])
        unchanged = before is not None and (before.get("metadata") or {}).get(
            "resourceVersion") == (result.get("metadata") or {}).get("resourceVersion")
        report(f, opts, res, result, "patched (no change)" if unchanged else "patched")
    return 0
