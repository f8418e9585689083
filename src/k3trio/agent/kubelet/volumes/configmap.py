"""``configMap`` volumes: the ConfigMap's ``data`` and ``binaryData`` keys (or the listed
``items``) as files, written atomically so updates reach running pods. A missing ConfigMap
or key is an error unless ``optional`` (then the files are simply absent)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .atomic import FileProjection, InvalidPayload, write_atomic
from .base import VolumeContext, VolumeError, file_mode
from .sources import CONFIGMAPS

PLUGIN = "kubernetes.io~configmap"


def _values(cm: Mapping[str, Any]) -> dict[str, bytes]:
    out = {str(k): str(v).encode() for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        out[str(k)] = base64.b64decode(v)
    return out


def payload(src: Mapping[str, Any], obj: Mapping[str, Any] | None, *,
            default_mode: Any, fs_group: int | None, kind: str = "configmap",
            values: dict[str, bytes] | None = None) -> dict[str, FileProjection]:
    """The files of a configMap (or, with ``kind="secret"``, secret) source.

    Raises:
        VolumeError: the object or a listed key is missing and the source is not optional.
    """
    name = str(src.get("name") or src.get("secretName") or "")
    optional = bool(src.get("optional"))
    if obj is None:
        if optional:
            return {}
        raise VolumeError(f'{kind} "{name}" not found')
    vals = values if values is not None else _values(obj)
    out: dict[str, FileProjection] = {}
    items = src.get("items") or []
    if not items:
        for key, data in vals.items():
            out[key] = FileProjection(data, file_mode(None, default_mode), fs_group)
        return out
    for item in items:
        key = str(item.get("key"))
        if key not in vals:
            if optional:
                continue
            prefix = "configmap references" if kind == "configmap" else "references"
            raise VolumeError(f"{prefix} non-existent {'config' if kind == 'configmap' else 'secret'}"
                              f" key: {key}")
        out[str(item.get("path") or key)] = FileProjection(
            vals[key], file_mode(item, default_mode), fs_group)
    return out


def write(path: Path, files: Mapping[str, FileProjection], ctx: VolumeContext) -> None:
    try:
        write_atomic(path, files, now=ctx.now)
    except (InvalidPayload, OSError) as exc:
        raise VolumeError(str(exc)) from exc


async def setup(ctx: VolumeContext, volume: Mapping[str, Any], path: Path) -> Path:
    src = volume.get("configMap") or {}
    obj = await ctx.cache.get(CONFIGMAPS, ctx.namespace, str(src.get("name")))
    write(path, payload(src, obj, default_mode=src.get("defaultMode"), fs_group=ctx.fs_group),
          ctx)
    return path
