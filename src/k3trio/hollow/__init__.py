"""Hollow nodes: simulated kubelets for scale tests, on the real agent's node code.

- ``pods``: the pure per-pod decision table, admission and Job-pod completion;
- ``node``: ``HollowNode``, one simulated kubelet (registration, Lease, status, pod steps);
- ``cluster``: ``HollowCluster``, many hollow nodes sharing one client and one pod informer.

``k3trio hollow-nodes`` (``k3trio.cli.hollow``) runs a ``HollowCluster``.
"""

from .cluster import HollowCluster
from .node import HollowNode
from .pods import COMPLETE_AFTER_ANNOTATION, EXIT_CODE_ANNOTATION, Completion, Step, decide

__all__ = [
    "COMPLETE_AFTER_ANNOTATION",
    "EXIT_CODE_ANNOTATION",
    "Completion",
    "HollowCluster",
    "HollowNode",
    "Step",
    "decide",
]
