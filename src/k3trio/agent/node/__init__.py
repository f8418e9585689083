"""Node-side code shared by the kubelet and the hollow (simulated) kubelets.

- ``registration``: the Node object (capacity, addresses, nodeInfo, labels) and registering it;
- ``status``: the kubelet-owned node conditions and the status heartbeat (``NodeStatusReporter``);
- ``lease``: the node Lease in ``kube-node-lease`` (``NodeLease``);
- ``podstatus``: pod conditions and container statuses shaped as a kubelet writes them;
- ``podcidr``: node CIDRs out of the cluster CIDR, and pod IPs out of a node's podCIDR.
"""

from .lease import LEASE_DURATION_SECONDS, NODE_LEASE_NAMESPACE, NodeLease, build_lease, renewed
from .podcidr import CidrExhausted, CidrSet, PodIPAllocator
from .podstatus import (
    normalize_image,
    pod_conditions,
    running_container_status,
    terminated_container_status,
    waiting_container_status,
)
from .registration import (
    KUBELET_VERSION,
    NodeConfig,
    build_node,
    build_status,
    default_labels,
    register_node,
)
from .status import NETWORK_NOT_READY, NodeStatusReporter, node_conditions, status_differs

__all__ = [
    "KUBELET_VERSION",
    "LEASE_DURATION_SECONDS",
    "NETWORK_NOT_READY",
    "NODE_LEASE_NAMESPACE",
    "CidrExhausted",
    "CidrSet",
    "NodeConfig",
    "NodeLease",
    "NodeStatusReporter",
    "PodIPAllocator",
    "build_lease",
    "build_node",
    "build_status",
    "default_labels",
    "node_conditions",
    "normalize_image",
    "pod_conditions",
    "register_node",
    "renewed",
    "running_container_status",
    "status_differs",
    "terminated_container_status",
    "waiting_container_status",
]
