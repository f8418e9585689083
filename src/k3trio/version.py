"""Version numbers: k3trio's own and the Kubernetes API version it serves."""

__version__ = "0.1.0"

#: Kubernetes release whose API k3trio serves.
KUBERNETES_VERSION = "v1.36.0"
KUBERNETES_MAJOR = "1"
KUBERNETES_MINOR = "36"

#: gitVersion reported on /version, in the K3s style ``v1.36.0+k3s1``.
GIT_VERSION = f"{KUBERNETES_VERSION}+k3trio1"


def version_line() -> str:
    """The line ``k3trio --version`` prints."""
    return f"k3trio version v{__version__} (Kubernetes {GIT_VERSION})"
