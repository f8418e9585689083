"""``Resource`` handles for the kinds the batch, endpoint, namespace, node, quota, disruption,
autoscaling and volume controllers read and write (no discovery needed)."""

from __future__ import annotations

from ..client.resource import (
    CONFIGMAPS,
    EVENTS,
    LEASES,
    NAMESPACES,
    NODES,
    PODS,
    SECRETS,
    SERVICES,
    Resource,
)

__all__ = [
    "CONFIGMAPS", "CRONJOBS", "ENDPOINTS", "ENDPOINTSLICES", "EVENTS", "HPAS", "JOBS", "LEASES",
    "NAMESPACES", "NODES", "PDBS", "PODS", "PVCS", "PVS", "RESOURCEQUOTAS", "SECRETS",
    "SERVICEACCOUNTS", "SERVICES", "STORAGECLASSES",
]

JOBS = Resource("batch", "v1", "jobs", "Job", True, subresources=("status",))
CRONJOBS = Resource("batch", "v1", "cronjobs", "CronJob", True, subresources=("status",))
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints", True)
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True)
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True)
RESOURCEQUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota", True,
                          subresources=("status",))
PDBS = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True,
                subresources=("status",))
HPAS = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
                True, subresources=("status",))
PVS = Resource("", "v1", "persistentvolumes", "PersistentVolume", False,
               subresources=("status",))
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True,
                subresources=("status",))
STORAGECLASSES = Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False)
