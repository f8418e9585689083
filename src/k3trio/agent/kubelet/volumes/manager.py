"""Per-pod volume directories and container mounts.

Layout, as the kubelet's ``/var/lib/kubelet/pods``::

    <root>/<pod uid>/volumes/kubernetes.io~<plugin>/<volume name>   emptyDir, configMap,
                                                                    secret, downwardAPI,
                                                                    projected
    <root>/<pod uid>/etc-hosts                                      the managed /etc/hosts
    <root>/<pod uid>/containers/<name>/<restart count>              termination-message files

``VolumeManager.setup(pod)`` sets every volume of the pod up (idempotent, run on each sync so
updates land) and returns the host path of each; ``mounts`` turns a container's
``volumeMounts`` into CRI mounts (``subPath``/``subPathExpr`` below the volume, never outside
it); ``teardown(uid)`` unmounts whatever the kubelet mounted under the pod and removes the
pod's directory. hostPath and PV volumes live outside the pod directory and are never
removed.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ....client import ApiError, ClientError
from ...cri import MountSpec
from ..env import NodeResources
from ..specs import expand
from . import configmap, downward, emptydir, hostpath, projected, pvc, secret
from .base import VolumeContext, VolumeError
from .mount import mountpoints_under, unmount
from .sources import ObjectCache
from .tokens import TokenManager

__all__ = ["VolumeManager", "volume_plugin"]

log = logging.getLogger("k3trio.agent.kubelet.volumes")

Setup = Callable[[VolumeContext, Mapping[str, Any], Path], Awaitable[Path]]

_PLUGINS: dict[str, tuple[str, Setup]] = {
    "emptyDir": (emptydir.PLUGIN, emptydir.setup),
    "configMap": (configmap.PLUGIN, configmap.setup),
    "secret": (secret.PLUGIN, secret.setup),
    "downwardAPI": (downward.PLUGIN, downward.setup),
    "projected": (projected.PLUGIN, projected.setup),
    "hostPath": ("kubernetes.io~host-path", hostpath.setup),
    "persistentVolumeClaim": ("kubernetes.io~pvc", pvc.setup),
    "ephemeral": ("kubernetes.io~pvc", pvc.setup),
}

_UID = re.compile(r"^[0-9a-zA-Z-]+$")


def volume_plugin(volume: Mapping[str, Any]) -> tuple[str, Setup] | None:
    """The plugin directory name and setup function of a volume, None if unsupported."""
    for key, plugin in _PLUGINS.items():
        if volume.get(key) is not None:
            return plugin
    return None


class VolumeManager:
    """See module doc. ``root`` is ``<data-dir>/agent/pods``."""

    def __init__(self, root: Path, cache: ObjectCache, tokens: TokenManager, *,
                 memory_backed: bool = True, node: NodeResources = NodeResources()) -> None:
        self.root = root
        self.cache = cache
        self.tokens = tokens
        self.memory_backed = memory_backed
        self.node = node

    def pod_dir(self, uid: str) -> Path:
        if not _UID.match(uid):
            raise ValueError(f"invalid pod uid {uid!r}")
        return self.root / uid

    async def setup(self, pod: Mapping[str, Any], *, now: datetime, pod_ip: str = "",
                    host_ip: str = "") -> dict[str, Path]:
        """Set up every volume of ``pod``; host path by volume name.

        Raises:
            VolumeError: a volume failed; the message names it as upstream's
                ``MountVolume.SetUp failed for volume "<name>" : <cause>``.
        """
        uid = str((pod.get("metadata") or {}).get("uid"))
        base = self.pod_dir(uid) / "volumes"
        ctx = VolumeContext(pod, self.cache, self.tokens, now, self.node, pod_ip, host_ip,
                            self.memory_backed)
        out: dict[str, Path] = {}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            name = str(volume.get("name"))
            plugin = volume_plugin(volume)
            if plugin is None:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : '
                                  f"volume type is not supported by this node")
            dirname, setup = plugin
            try:
                out[name] = await setup(ctx, volume, base / dirname / name)
            except VolumeError as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {exc}'
                                  ) from exc
            except (ApiError, ClientError) as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {exc}'
                                  ) from exc
        return out

    def mounts(self, container: Mapping[str, Any], volumes: Mapping[str, Path],
               env: Mapping[str, str]) -> list[MountSpec]:
        """CRI mounts of a container's ``volumeMounts``.

        Raises:
            VolumeError: an unknown volume, or a subPath outside its volume.
        """
        out: list[MountSpec] = []
        for m in container.get("volumeMounts") or []:
            name = str(m.get("name"))
            host = volumes.get(name)
            if host is None:
                raise VolumeError(f"cannot find volume {name!r} to mount into container "
                                  f"{container.get('name')!r}")
            sub = str(m.get("subPath") or "")
            if m.get("subPathExpr"):
                sub = expand(str(m["subPathExpr"]), env)
            if sub:
                if sub.startswith("/") or ".." in sub.split("/"):
                    raise VolumeError(f"invalid subpath {sub!r}: must be relative and must not "
                                      f"contain '..'")
                target = host / sub
                if not target.exists() and not target.is_symlink():
                    target.mkdir(mode=0o755, parents=True, exist_ok=True)
                resolved = target.resolve()
                if resolved != host.resolve() and host.resolve() not in resolved.parents:
                    raise VolumeError(f"subpath {sub!r} of volume {name!r} points outside it")
                host = resolved
            out.append(MountSpec(container_path=str(m.get("mountPath")), host_path=str(host),
                                 readonly=bool(m.get("readOnly"))))
        return out

    async def teardown(self, uid: str, *, volumes_only: bool = False) -> None:
        """Unmount and remove everything of pod ``uid`` (see module doc); with
        ``volumes_only`` (a pod that finished) keep its other files."""
        self.tokens.forget(uid)
        pod_dir = self.pod_dir(uid) / "volumes" if volumes_only else self.pod_dir(uid)
        if not pod_dir.exists():
            return
        for point in mountpoints_under(pod_dir):
            try:
                unmount(point)
            except OSError as exc:
                log.warning("Unable to unmount %s: %s", point, exc)
                return
        if mountpoints_under(pod_dir):
            return
        shutil.rmtree(pod_dir, ignore_errors=True)

    def known_pods(self) -> list[str]:
        """UIDs with a directory (for cleaning up after pods the node no longer has)."""
        try:
            return [p.name for p in self.root.iterdir() if p.is_dir()]
        except OSError:
            return []
