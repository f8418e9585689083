"""ClusterRole aggregation: the rules of a role with an ``aggregationRule``.

As upstream's clusterrole-aggregation controller: for each ``clusterRoleSelectors`` entry in
order, the ClusterRoles whose labels match (sorted by name, the role itself excluded)
contribute their rules in order; a rule equal to one already collected is skipped. The
aggregated role's own rules are replaced by the result.

:func:`aggregate_cluster_role` is what a controller calls on every ClusterRole change: it
returns the new rules when they differ from the stored ones, else ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...api.labels import SelectorError, from_label_selector

__all__ = ["aggregate_cluster_role", "aggregated_rules", "resolve_aggregation"]


def _name(role: Mapping[str, Any]) -> str:
    return str((role.get("metadata") or {}).get("name", ""))


def aggregated_rules(
    role: Mapping[str, Any], all_cluster_roles: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]] | None:
    """The rules ``role`` aggregates, or None when it has no ``aggregationRule``."""
    rule = role.get("aggregationRule")
    if not isinstance(rule, dict):
        return None
    candidates = sorted(all_cluster_roles, key=_name)
    own = _name(role)
    out: list[dict[str, Any]] = []
    for selector_obj in rule.get("clusterRoleSelectors") or []:
        try:
            selector = from_label_selector(selector_obj)
        except SelectorError:
            continue
        for other in candidates:
            if _name(other) == own:
                continue
            if not selector.matches((other.get("metadata") or {}).get("labels") or {}):
                continue
            for policy_rule in other.get("rules") or []:
                if policy_rule not in out:
                    out.append(policy_rule)
    return out


def aggregate_cluster_role(
    role: Mapping[str, Any], all_cluster_roles: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]] | None:
    """The rules to store on ``role``, or None when it is not aggregated or already current."""
    rules = aggregated_rules(role, all_cluster_roles)
    if rules is None:
        return None
    if rules == list(role.get("rules") or []):
        return None
    return rules


def resolve_aggregation(cluster_roles: list[dict[str, Any]]) -> None:
    """Fill every aggregated role in ``cluster_roles`` in place until nothing changes.

    Used for the bootstrap policy so ``admin``/``edit``/``view`` carry their rules from the
    first start (aggregations may chain: view -> edit -> admin).
    """
    for _ in range(len(cluster_roles) + 1):
        changed = False
        for role in cluster_roles:
            rules = aggregate_cluster_role(role, cluster_roles)
            if rules is not None:
                role["rules"] = rules
                changed = True
        if not changed:
            return
