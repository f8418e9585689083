"""Pod volumes on the node: one module per volume type, one atomic writer, tokens.

- ``manager``: ``VolumeManager`` (per-pod directories, setup, container mounts, teardown);
- ``atomic``: the ``..data`` symlink-swap writer for configMap/secret/downwardAPI/projected;
- ``emptydir``, ``hostpath``, ``configmap``, ``secret``, ``downward``, ``projected``,
  ``pvc``: the plugins (``async setup(ctx, volume, path) -> host path``);
- ``sources``: ``ObjectCache`` of ConfigMaps/Secrets/PVCs/PVs; ``tokens``: ``TokenManager``;
- ``mount``: tmpfs mounting and unmounting on the host.
"""

from .atomic import DATA_DIR, FileProjection, InvalidPayload, write_atomic
from .base import VolumeContext, VolumeError
from .manager import VolumeManager, volume_plugin
from .sources import ObjectCache
from .tokens import TokenManager

__all__ = [
    "DATA_DIR",
    "FileProjection",
    "InvalidPayload",
    "ObjectCache",
    "TokenManager",
    "VolumeContext",
    "VolumeError",
    "VolumeManager",
    "volume_plugin",
    "write_atomic",
]
