"""k3trio: a lightweight Kubernetes distribution on Trio, SQLite and containerd."""

from .version import __version__

__all__ = ["__version__"]
