"""The agent's own containerd: configuration (pure) and the supervised child process."""

from .config import ContainerdPaths, detect_cgroup_driver, find_cni_bin_dir, render_config
from .process import Containerd, RuntimeMissing, check_binaries, socket_answers

__all__ = [
    "Containerd",
    "ContainerdPaths",
    "RuntimeMissing",
    "check_binaries",
    "detect_cgroup_driver",
    "find_cni_bin_dir",
    "render_config",
    "socket_answers",
]
