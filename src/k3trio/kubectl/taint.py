"""``kubectl taint NODE KEY[=VALUE]:EFFECT ... | KEY[:EFFECT]-``: add, overwrite and remove
node taints; messages ``node/x tainted``, ``node/x untainted`` (removals only) or
``node/x modified``."""

from __future__ import annotations

from typing import Any

from .errors import CommandError, UsageError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, OUTPUT_FLAGS, dry_run_mode, report

SHORT = "Update the taints on one or more nodes"
USAGE = "kubectl taint NODE NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N"
FLAGS = OUTPUT_FLAGS + [
    DRY_RUN_FLAG,
    Flag("all", "bool", False, "Select all nodes in the cluster"),
    Flag("field-manager", "string", "kubectl-taint", "Name of the manager used to track field ownership."),
    Flag("overwrite", "bool", False, "If true, allow taints to be overwritten, otherwise reject taint updates that overwrite existing taints."),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("validate", "string", "strict", "", no_opt="strict"),
]
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _parse(specs: list[str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    add: list[dict[str, str]] = []
    remove: list[dict[str, str]] = []
    for spec in specs:
        if spec.endswith("-"):
            body = spec[:-1]
            key, _, effect = body.partition(":")
            key = key.split("=", 1)[0]
            if effect and effect not in _EFFECTS:
                raise CommandError(f"error: invalid taint effect: {effect}, unsupported taint effect")
            remove.append({"key": key, "effect": effect})
            continue
        body, sep, effect = spec.rpartition(":")
        if not sep:
            raise CommandError(f"error: invalid taint spec: {spec}, at least one taint update is required")
        if effect not in _EFFECTS:
            raise UsageError(f"invalid taint effect: {effect}, unsupported taint effect")
        key, _, value = body.partition("=")
        taint = {"key": key, "effect": effect}
        if value:
            taint = {"key": key, "value": value, "effect": effect}
        add.append(taint)
    return add, remove


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if not args:
        raise CommandError("error: at least one taint update is required")
    specs = [a for a in args if ":" in a or a.endswith("-")]
    names = [a for a in args if a not in specs]
    if names:
        from .discovery import UnknownResource

        try:
            kind = f.discovery.resolve(names[0])
        except UnknownResource as exc:
            raise CommandError(str(exc)) from exc
        if kind.kind != "Node":
            raise CommandError(f"error: invalid resource type {names[0]}, only node types are "
                               "supported")
        names = names[1:]
    if not specs:
        raise CommandError("error: at least one taint update is required")
    add, remove = _parse(specs)
    res = f.discovery.resolve("nodes")
    if opts["all"] or opts["selector"]:
        items = f.client.get("/api/v1/nodes", params={"labelSelector": opts["selector"] or None}).get("items") or []
        names = [i["metadata"]["name"] for i in items]
    for name in names:
        node = f.client.get(f"/api/v1/nodes/{name}")
        taints = list((node.get("spec") or {}).get("taints") or [])
        result: list[dict[str, Any]] = []
        for t in taints:
            if any(t.get("key") == r["key"] and (not r["effect"] or t.get("effect") == r["effect"])
                   for r in remove):
                continue
            result.append(t)
        for r in remove:
            if not any(t.get("key") == r["key"] and (not r["effect"] or t.get("effect") == r["effect"])
                       for t in taints):
                raise CommandError(f"error: taint \"{r['key']}{':' + r['effect'] if r['effect'] else ''}\" not found")
        replaced = False
        for a in add:
            existing = next((t for t in result if t.get("key") == a["key"]
                             and t.get("effect") == a["effect"]), None)
            if existing is not None:
                if not opts["overwrite"]:
                    raise CommandError(f"error: node {name} already has {a['key']} taint(s) with "
                                       "same effect(s) and --overwrite is false")
                result[result.index(existing)] = a
                replaced = True
            else:
                result.append(a)
        verb = "tainted" if add and not remove and not replaced else \
            "untainted" if remove and not add else "modified"
        if dry_run_mode(opts) != "client":
            params = {"fieldManager": opts["field_manager"]}
            if dry_run_mode(opts) == "server":
                params["dryRun"] = "All"
            node = f.client.json("PATCH", f"/api/v1/nodes/{name}", params=params,
                                 body={"spec": {"taints": result or None}},
                                 content_type="application/merge-patch+json")
        report(f, opts, res, node, verb)
    return 0
