"""Which objects a command means: ``TYPE [NAME...]``, ``TYPE/NAME``, ``TYPE1,TYPE2``, ``all``
and ``-f`` manifests (files, directories with ``-R``, ``-`` for stdin, URLs).

Pure apart from discovery look-ups and reading the named files. Errors use kubectl's wording.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .discovery import ApiResource, Discovery
from .errors import CommandError

__all__ = ["Manifest", "Target", "load_manifests", "parse_targets"]

_EXTENSIONS = (".json", ".yaml", ".yml")


@dataclass
class Target:
    """One resource type and the names asked for (none: the whole collection)."""

    resource: ApiResource
    names: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    source: str
    obj: dict[str, Any]


def parse_targets(discovery: Discovery, args: list[str], *, command: str = "get"
                  ) -> tuple[list[Target], bool]:
    """Resolve command arguments into targets.

    Returns:
        (targets in order, whether exactly one named object was asked for)

    Raises:
        CommandError: kubectl's argument errors; ``UnknownResource`` for unknown types.
    """
    if not args:
        return [], False
    slash = [a for a in args if "/" in a]
    if slash:
        if len(slash) != len(args):
            raise CommandError(
                "error: there is no need to specify a resource type as a separate argument "
                f"when passing arguments in resource/name form (e.g. 'kubectl {command} "
                f"resource/<resource_name>' instead of 'kubectl {command} resource "
                "resource/<resource_name>'")
        targets: list[Target] = []
        for arg in args:
            type_, _, name = arg.partition("/")
            if not name:
                raise CommandError(f"error: arguments in resource/name form must have a single "
                                   f"resource and name")
            res = discovery.resolve(type_)
            if targets and targets[-1].resource == res:
                targets[-1].names.append(name)
            else:
                targets.append(Target(res, [name]))
        return targets, len(args) == 1
    types = [t for t in args[0].split(",") if t]
    names = args[1:]
    resources: list[ApiResource] = []
    for t in types:
        if t == "all" and not names:
            resources.extend(discovery.category("all"))
            continue
        cat = discovery.category(t) if t == "all" else []
        if cat:
            resources.extend(cat)
            continue
        res = discovery.resolve(t)
        if res not in resources:
            resources.append(res)
    targets = [Target(r, list(names)) for r in resources]
    return targets, len(types) == 1 and len(names) == 1 and types[0] != "all"


def _docs_from_text(text: str, source: str) -> Iterator[dict[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            yield value
            return
        if isinstance(value, list):
            for v in value:
                if isinstance(v, dict):
                    yield v
            return
    import yaml

    try:
        for doc in yaml.load_all(text, Loader=manifest_loader()):
            if doc is None:
                continue
            doc = _string_keys(doc)
            if not isinstance(doc, dict):
                raise CommandError(
                    f'error: error validating "{source}": error validating data: invalid object '
                    f"to validate; if you choose to ignore these errors, turn validation off "
                    f"with --validate=false")
            yield doc
    except yaml.YAMLError as exc:
        raise CommandError(f'error: error parsing {source}: error converting YAML to JSON: '
                           f'yaml: {exc}') from exc


_LOADER: Any = None


def manifest_loader() -> Any:
    """A YAML loader that reads scalars as go-yaml v2 (``sigs.k8s.io/yaml``) does: ``y``/``n``
    are booleans, ``1e3`` is a number, timestamps stay strings."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import re

    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class GoLoader(base):  # type: ignore[misc,valid-type]
        pass

    resolvers: dict[Any, list[Any]] = {}
    for first, entries in base.yaml_implicit_resolvers.items():
        kept = [(tag, rx) for tag, rx in entries if tag != "tag:yaml.org,2002:timestamp"]
        if kept:
            resolvers[first] = kept
    GoLoader.yaml_implicit_resolvers = resolvers
    GoLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"),
                                   list("yYnN"))
    GoLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9]+)(?:[eE][-+]?[0-9]+)$"), list("-+0123456789"))
    GoLoader.add_constructor("tag:yaml.org,2002:bool", _go_bool)
    GoLoader.add_constructor("tag:yaml.org,2002:float", _go_float)
    _LOADER = GoLoader
    return GoLoader


def _string_keys(value: Any) -> Any:
    """Map keys as JSON strings, as ``sigs.k8s.io/yaml`` converts them."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, bool):
                k = "true" if k else "false"
            elif k is None:
                k = "null"
            elif not isinstance(k, str):
                k = str(k)
            out[k] = _string_keys(v)
        return out
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def _go_bool(loader: Any, node: Any) -> bool:
    return str(node.value).lower() in ("y", "yes", "true", "on")


def _go_float(loader: Any, node: Any) -> Any:
    import yaml

    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    return int(value) if isinstance(value, float) and value.is_integer() and "." not in node.value \
        and "e" not in node.value.lower() else value


def _flatten(doc: dict[str, Any], source: str) -> Iterator[Manifest]:
    kind = str(doc.get("kind") or "")
    if kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            if isinstance(item, dict):
                yield from _flatten(item, source)
        return
    if not kind:
        raise CommandError(
            f'error: error validating "{source}": error validating data: kind not set; if you '
            f"choose to ignore these errors, turn validation off with --validate=false")
    if not doc.get("apiVersion"):
        raise CommandError(
            f'error: error validating "{source}": error validating data: apiVersion not set; '
            f"if you choose to ignore these errors, turn validation off with --validate=false")
    yield Manifest(source, doc)


def _read_url(url: str) -> str:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            body: bytes = resp.read()
            return body.decode("utf-8")
    except OSError as exc:
        raise CommandError(f"error: unable to read URL \"{url}\", server reported {exc}") from exc


def load_manifests(paths: list[str], *, recursive: bool = False, stdin: Any = None
                   ) -> list[Manifest]:
    """Every object named by ``-f`` arguments, in order (List kinds flattened).

    Raises:
        CommandError: a path does not exist, a document does not parse or lacks kind.
    """
    out: list[Manifest] = []
    for p in paths:
        if p == "-":
            text = (stdin or sys.stdin).read()
            for doc in _docs_from_text(text, "STDIN"):
                out.extend(_flatten(doc, "STDIN"))
            continue
        if p.startswith(("http://", "https://")):
            for doc in _docs_from_text(_read_url(p), p):
                out.extend(_flatten(doc, p))
            continue
        path = Path(p)
        if not path.exists():
            raise CommandError(f'error: the path "{p}" does not exist')
        if path.is_dir():
            files = _walk(path, recursive)
        else:
            files = [path]
        for file in files:
            text = file.read_text(encoding="utf-8")
            for doc in _docs_from_text(text, str(file)):
                out.extend(_flatten(doc, str(file)))
    return out


def _walk(root: Path, recursive: bool) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(_EXTENSIONS):
                found.append(Path(dirpath) / name)
        if not recursive:
            break
    return found
