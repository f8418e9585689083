"""The node agent's kubelet on a CRI runtime.

- ``specs``: pod -> CRI sandbox and container configs (labels, DNS, env), pure;
- ``podsync``: restart decisions, crash-loop back-off, phase and container statuses, pure;
- ``kubelet``: ``Kubelet``, the pod workers, the relist loop and the API writes.
"""

from .kubelet import Kubelet, pull_credentials
from .podsync import Backoff, pod_phase, should_restart

__all__ = ["Backoff", "Kubelet", "pod_phase", "pull_credentials", "should_restart"]
