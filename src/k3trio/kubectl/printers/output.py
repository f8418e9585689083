"""``-o`` formats other than tables: yaml, json, name, jsonpath, jsonpath-file,
jsonpath-as-json, custom-columns and custom-columns-file.

``OutputFormat.parse`` validates the flag value with kubectl's messages; ``render`` prints a
list of objects: one object alone when a single object was asked for, else a ``List``
(``apiVersion: v1``, ``items``, ``kind: List``, ``metadata.resourceVersion: ""``), as kubectl
does. YAML streams of several documents (watch) are separated by ``---``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CommandError

__all__ = ["OutputFormat", "as_list", "object_name", "render"]

ALLOWED = (
    "custom-columns", "custom-columns-file", "go-template", "go-template-file", "json",
    "jsonpath", "jsonpath-as-json", "jsonpath-file", "kyaml", "name", "template",
    "templatefile", "wide", "yaml",
)


@dataclass
class OutputFormat:
    kind: str  # "" (table), wide, yaml, json, name, jsonpath, custom-columns
    arg: str = ""
    json_output: bool = False

    @property
    def is_table(self) -> bool:
        return self.kind in ("", "wide")

    @classmethod
    def parse(cls, value: str) -> OutputFormat:
        if not value:
            return cls("")
        name, eq, arg = value.partition("=")
        if name in ("wide", "yaml", "json", "name"):
            if eq:
                raise _unknown(value)
            return cls(name)
        if name in ("jsonpath", "jsonpath-as-json"):
            if not arg:
                raise CommandError("error: template format specified but no template given")
            return cls("jsonpath", arg, json_output=name == "jsonpath-as-json")
        if name == "jsonpath-file":
            return cls("jsonpath", _read(arg, "jsonpath"))
        if name == "custom-columns":
            if not arg:
                raise CommandError("error: custom-columns format specified but no "
                                   "custom columns given")
            return cls("custom-columns", arg)
        if name == "custom-columns-file":
            return cls("custom-columns", _columns_from_file(_read(arg, "custom-columns")))
        raise _unknown(value)


def _unknown(value: str) -> CommandError:
    return CommandError(
        f'error: unable to match a printer suitable for the output format "{value}", '
        f"allowed formats are: {','.join(ALLOWED)}")


def _read(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise CommandError(f"error reading {what} template {path}: open {path}: "
                           f"{(exc.strerror or '').lower()}") from exc


def _columns_from_file(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 2:
        raise CommandError(f"error: expected two lines in custom-columns file, saw {len(lines)}")
    headers, paths = lines[0].split(), lines[1].split()
    if len(headers) != len(paths):
        raise CommandError(f"error: number of headers ({len(headers)}) and field "
                           f"specifications ({len(paths)}) don't match")
    return ",".join(f"{h}:{p}" for h, p in zip(headers, paths))


def object_name(obj: dict[str, Any], kind_prefix: str = "") -> str:
    """``kind.group/name`` as ``-o name`` prints it."""
    if not kind_prefix:
        kind = str(obj.get("kind") or "").lower()
        group = str(obj.get("apiVersion") or "").rpartition("/")[0]
        kind_prefix = f"{kind}.{group}" if group else kind
    return f"{kind_prefix}/{(obj.get('metadata') or {}).get('name', '')}"


def as_list(objs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": list(objs), "kind": "List",
            "metadata": {"resourceVersion": ""}}


def render(fmt: OutputFormat, objs: Sequence[dict[str, Any]], *, single: bool,
           no_headers: bool = False, name_prefixes: Sequence[str] | None = None,
           typed: bool = False) -> str:
    """The text of ``objs`` in format ``fmt``.

    ``typed``: the objects were built locally in Go struct field order (``--dry-run=client``);
    kubectl prints those as JSON in that order instead of sorting keys.

    Raises:
        CommandError: a template that does not parse or fails to execute.
    """
    if fmt.kind == "name":
        prefixes = name_prefixes or [""] * len(objs)
        return "".join(object_name(o, p) + "\n" for o, p in zip(objs, prefixes))
    if fmt.kind == "custom-columns":
        from .columns import custom_columns

        return custom_columns(fmt.arg, list(objs), no_headers=no_headers)
    doc: Any = objs[0] if single and len(objs) == 1 else as_list(objs)
    if fmt.kind == "yaml":
        from .yamlfmt import dump_yaml

        return dump_yaml(doc)
    if fmt.kind == "json":
        from .yamlfmt import go_json_indent

        return go_json_indent(doc, sort_keys=not typed)
    if fmt.kind == "jsonpath":
        return run_jsonpath(fmt.arg, doc, json_output=fmt.json_output)
    raise CommandError(f"error: output format {fmt.kind!r} is not supported")


def run_jsonpath(template: str, doc: Any, *, json_output: bool = False) -> str:
    from ...api.jsonpath import JSONPath, JSONPathError
    from .yamlfmt import normalize_numbers

    try:
        jp = JSONPath(template, allow_missing_keys=True, json_output=json_output)
    except JSONPathError as exc:
        raise CommandError(f"error: error parsing jsonpath {template}, {exc}") from exc
    try:
        return jp.execute(normalize_numbers(doc))
    except JSONPathError as exc:
        raise CommandError(f"error: error executing jsonpath {template!r}: Error executing "
                           f"template: {exc}. Printing more information for debugging the "
                           "template:\n\ttemplate was:\n\t\t" + template) from exc
