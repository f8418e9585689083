"""Role-based access control: the authorizer, the default policy and role aggregation.

Modules: ``rules`` (PolicyRule matching), ``authorizer`` (:class:`RBACAuthorizer`),
``policy`` (:func:`bootstrap_policy`, the default roles and bindings), ``aggregation``
(:func:`aggregate_cluster_role` for the ClusterRole aggregation controller).
"""

from .aggregation import aggregate_cluster_role, aggregated_rules, resolve_aggregation
from .authorizer import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    MASTERS_GROUP,
    ROLE_BINDINGS,
    ROLES,
    RBACAuthorizer,
)
from .policy import AUTOUPDATE_ANNOTATION, BOOTSTRAP_LABEL, bootstrap_policy
from .rules import CompiledRule, compile_rule, rule_allows

__all__ = [
    "AUTOUPDATE_ANNOTATION",
    "BOOTSTRAP_LABEL",
    "CLUSTER_ROLES",
    "CLUSTER_ROLE_BINDINGS",
    "MASTERS_GROUP",
    "ROLES",
    "ROLE_BINDINGS",
    "CompiledRule",
    "RBACAuthorizer",
    "aggregate_cluster_role",
    "aggregated_rules",
    "bootstrap_policy",
    "compile_rule",
    "resolve_aggregation",
    "rule_allows",
]
