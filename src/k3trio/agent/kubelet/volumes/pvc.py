"""``persistentVolumeClaim`` (and generic ``ephemeral``) volumes on node-local PVs.

The claim must be Bound; its PersistentVolume must be ``hostPath`` (checked as a hostPath
volume) or ``local``; the containers mount that path directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import hostpath
from .base import VolumeContext, VolumeError
from .sources import PVCS, PVS


def claim_name(pod: Mapping[str, Any], volume: Mapping[str, Any]) -> str:
    if volume.get("ephemeral") is not None:
        return f"{(pod.get('metadata') or {}).get('name')}-{volume.get('name')}"
    return str((volume.get("persistentVolumeClaim") or {}).get("claimName"))


async def setup(ctx: VolumeContext, volume: Mapping[str, Any], path: Path) -> Path:
    name = claim_name(ctx.pod, volume)
    claim = await ctx.cache.get(PVCS, ctx.namespace, name)
    if claim is None:
        raise VolumeError(f'persistentvolumeclaim "{name}" not found')
    phase = (claim.get("status") or {}).get("phase", "")
    pv_name = str((claim.get("spec") or {}).get("volumeName") or "")
    if phase != "Bound" or not pv_name:
        raise VolumeError(f"PVC {ctx.namespace}/{name} has non-bound phase ({phase!r}) or "
                          f"empty pvc.Spec.VolumeName ({pv_name!r})")
    pv = await ctx.cache.get(PVS, "", pv_name)
    if pv is None:
        raise VolumeError(f'persistentvolume "{pv_name}" not found')
    spec = pv.get("spec") or {}
    if spec.get("hostPath"):
        host = Path(str(spec["hostPath"].get("path")))
        hostpath.check(host, str(spec["hostPath"].get("type") or ""))
        return host
    if spec.get("local"):
        host = Path(str(spec["local"].get("path")))
        if not host.exists():
            raise VolumeError(f"path {host} does not exist")
        return host
    raise VolumeError(f"unsupported volume type of PersistentVolume {pv_name}: only hostPath "
                      f"and local volumes can be mounted by this node")
