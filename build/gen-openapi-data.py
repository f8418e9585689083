#!/usr/bin/env python3
"""Derive the OpenAPI data k3trio ships from the upstream Kubernetes swagger.json.

Reads the v1.36 swagger (default: ``../shared/reference/openapi/swagger.json`` beside the
repository) and writes into ``src/k3trio/api/data/``:

``swagger.json.gz``
    The whole document, minified and gzipped: the API server serves ``/openapi/v2`` from it
    and converts it to per-group-version ``/openapi/v3`` documents on demand.

``patchmeta.json.gz``
    What strategic merge patch and server-side apply need, and nothing else::

        {"kinds": {"<group>/<version>/<Kind>": "<definition>"},
         "types": {"<definition>": {"<field>": [strategy, mergeKey, ref, listType,
                                                listMapKeys, container]}}}

    ``container`` is ``"o"`` (object), ``"a"`` (array of ``ref``), ``"m"`` (map of
    ``ref``) or ``""`` (scalar); ``ref`` is a definition name or ``""``. Fields with
    no strategy and no nested type are left out.

Both outputs are deterministic (sorted keys, gzip mtime 0), so regenerating from the same
input leaves git clean. Usage: ``python build/gen-openapi-data.py [--swagger PATH]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SWAGGER = ROOT.parent / "shared" / "reference" / "openapi" / "swagger.json"
OUT_DIR = ROOT / "src" / "k3trio" / "api" / "data"
REF_PREFIX = "#/definitions/"


def _ref_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    return ref[len(REF_PREFIX) :] if ref.startswith(REF_PREFIX) else ""


def field_meta(prop: dict[str, Any]) -> list[Any] | None:
    strategy = prop.get("x-kubernetes-patch-strategy", "")
    merge_key = prop.get("x-kubernetes-patch-merge-key", "")
    list_type = prop.get("x-kubernetes-list-type", "")
    map_keys = prop.get("x-kubernetes-list-map-keys", [])
    ref, container = "", ""
    if "$ref" in prop:
        ref, container = _ref_name(prop), "o"
    elif prop.get("type") == "array":
        ref, container = _ref_name(prop.get("items", {})), "a"
    elif prop.get("type") == "object" and isinstance(prop.get("additionalProperties"), dict):
        ref, container = _ref_name(prop["additionalProperties"]), "m"
        if not ref and prop["additionalProperties"].get("type") == "array":
            container = "m"
    if not (strategy or merge_key or list_type or ref or container in ("a", "m")):
        return None
    return [strategy, merge_key, ref, list_type, list(map_keys), container]


def patch_meta(swagger: dict[str, Any]) -> dict[str, Any]:
    kinds: dict[str, str] = {}
    types: dict[str, dict[str, list[Any]]] = {}
    for name, definition in swagger["definitions"].items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            key = f"{gvk['group']}/{gvk['version']}/{gvk['kind']}"
            # Shared kinds (DeleteOptions, WatchEvent) list every group; keep the first.
            kinds.setdefault(key, name)
        fields = {}
        for field, prop in (definition.get("properties") or {}).items():
            meta = field_meta(prop)
            if meta is not None:
                fields[field] = meta
        if fields:
            types[name] = fields
    return {"kinds": kinds, "types": types}


def write_gz(path: Path, document: Any) -> int:
    raw = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    data = gzip.compress(raw, compresslevel=9, mtime=0)
    path.write_bytes(data)
    return len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swagger", type=Path, default=DEFAULT_SWAGGER)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    swagger = json.loads(args.swagger.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = {
        "swagger.json.gz": write_gz(args.out / "swagger.json.gz", swagger),
        "patchmeta.json.gz": write_gz(args.out / "patchmeta.json.gz", patch_meta(swagger)),
    }
    for name, size in sizes.items():
        print(f"{args.out / name}: {size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
