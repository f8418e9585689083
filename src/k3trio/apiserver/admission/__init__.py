"""Admission plugins, one module each, and the default chain in kube-apiserver's order.

The core runs, for every create/update/delete (and connect) of a resource::

    mutating plugins (in order, those whose ``handles(attrs)`` is true: ``await admit``)
      -> defaults -> validation
      -> validating plugins (in order: ``await validate``) -> storage

Plugin order follows upstream's ``AllOrderedPlugins`` restricted to the plugins enabled by
default in kube-apiserver v1.36 plus ``NodeRestriction``, which K3s enables. A plugin that is
both mutating and validating (LimitRanger, ServiceAccount, Priority, RuntimeClass) appears
in both lists at its position.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from k3trio.apiserver.admission.certificates import CertificateSubjectRestriction
from k3trio.apiserver.admission.default_ingress_class import DefaultIngressClass
from k3trio.apiserver.admission.default_toleration_seconds import DefaultTolerationSeconds
from k3trio.apiserver.admission.limit_ranger import LimitRanger
from k3trio.apiserver.admission.namespace_lifecycle import NamespaceLifecycle
from k3trio.apiserver.admission.node_restriction import NodeRestriction
from k3trio.apiserver.admission.pod_security import PodSecurity
from k3trio.apiserver.admission.priority import PriorityAdmission
from k3trio.apiserver.admission.resource_quota import QuotaWriter, ResourceQuotaAdmission
from k3trio.apiserver.admission.runtime_class import RuntimeClassAdmission
from k3trio.apiserver.admission.service_account import ServiceAccountAdmission
from k3trio.apiserver.admission.storage import (
    DefaultStorageClass,
    PersistentVolumeClaimResize,
    StorageObjectInUseProtection,
)
from k3trio.apiserver.admission.taint_nodes import TaintNodesByCondition
from k3trio.apiserver.interfaces import MutatingAdmission, ObjectSource, ValidatingAdmission
from k3trio.apiserver.webhooks import (
    MutatingWebhookAdmission,
    ServiceResolver,
    ValidatingWebhookAdmission,
)

__all__ = [
    "DEFAULT_ORDER",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "DefaultStorageClass",
    "DefaultTolerationSeconds",
    "LimitRanger",
    "NamespaceLifecycle",
    "NodeRestriction",
    "PersistentVolumeClaimResize",
    "PodSecurity",
    "PriorityAdmission",
    "ResourceQuotaAdmission",
    "RuntimeClassAdmission",
    "ServiceAccountAdmission",
    "StorageObjectInUseProtection",
    "TaintNodesByCondition",
    "default_plugins",
]

#: Enabled plugins in upstream order.
DEFAULT_ORDER = (
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "NodeRestriction",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
)


def default_plugins(
    objects: ObjectSource,
    *,
    quota_writer: QuotaWriter | None = None,
    namespace_live_get: Callable[[str], Awaitable[dict[str, Any] | None]] | None = None,
    service_resolver: ServiceResolver | None = None,
    disabled: Collection[str] = (),
) -> tuple[list[MutatingAdmission], list[ValidatingAdmission]]:
    """The default admission chain: (mutating, validating), each in upstream order.

    Args:
        objects: the watch-cache view every plugin reads through.
        quota_writer: writes a quota's ``status.used`` (see :mod:`.resource_quota`).
        namespace_live_get: direct namespace read for NamespaceLifecycle's cache misses.
        service_resolver: maps a webhook ``clientConfig.service`` to a URL (see
            :mod:`k3trio.apiserver.webhooks`); the default uses the Service's clusterIP.
        disabled: plugin names to leave out (``--disable-admission-plugins``).
    """
    built: dict[str, Any] = {
        "NamespaceLifecycle": NamespaceLifecycle(objects, live_get=namespace_live_get),
        "LimitRanger": LimitRanger(objects),
        "ServiceAccount": ServiceAccountAdmission(objects),
        "NodeRestriction": NodeRestriction(objects),
        "TaintNodesByCondition": TaintNodesByCondition(),
        "PodSecurity": PodSecurity(objects),
        "Priority": PriorityAdmission(objects),
        "DefaultTolerationSeconds": DefaultTolerationSeconds(),
        "DefaultStorageClass": DefaultStorageClass(objects),
        "StorageObjectInUseProtection": StorageObjectInUseProtection(),
        "PersistentVolumeClaimResize": PersistentVolumeClaimResize(objects),
        "RuntimeClass": RuntimeClassAdmission(objects),
        "CertificateSubjectRestriction": CertificateSubjectRestriction(),
        "DefaultIngressClass": DefaultIngressClass(objects),
        "MutatingAdmissionWebhook": MutatingWebhookAdmission(objects, resolver=service_resolver),
        "ValidatingAdmissionWebhook": ValidatingWebhookAdmission(objects, resolver=service_resolver),
        "ResourceQuota": ResourceQuotaAdmission(objects, write_used=quota_writer),
    }
    mutating: list[MutatingAdmission] = []
    validating: list[ValidatingAdmission] = []
    for name in DEFAULT_ORDER:
        if name in disabled:
            continue
        plugin = built[name]
        if callable(getattr(plugin, "admit", None)):
            mutating.append(plugin)
        if callable(getattr(plugin, "validate", None)):
            validating.append(plugin)
    return mutating, validating
