"""The RBAC authorizer: may this user do this, according to the bindings in the cluster.

Semantics (kube-apiserver's RBAC authorizer plus the ``system:masters`` short-circuit):

- Members of ``system:masters`` are always allowed (reason ``""``), before RBAC.
- ClusterRoleBindings apply in every namespace and at cluster scope; RoleBindings only to
  requests in their namespace. A RoleBinding may reference a ClusterRole, whose rules then
  apply within the binding's namespace only.
- Subjects: ``User`` by name, ``Group`` by membership, ``ServiceAccount`` by the username
  ``system:serviceaccount:<ns>:<name>`` (a RoleBinding's ServiceAccount subject without a
  namespace means the binding's namespace; in a ClusterRoleBinding it matches nothing).
- Allowed: reason ``RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "u"``.
  Otherwise no opinion; the reason lists dangling role references (``RBAC: [role...
  not found, ...]``) or is empty. RBAC never denies explicitly.

Performance: bindings and their roles are compiled into a subject index once per change of
any RBAC object (keyed by ``ObjectSource.generation``), so a request costs a few dict
lookups plus matching the rules of the bindings that name the user or one of its groups.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...api.errors import aggregate
from ..interfaces import AuthorizationAttributes, Decision, ObjectSource, UserInfo
from .rules import CompiledRule, compile_rule

__all__ = [
    "CLUSTER_ROLES",
    "CLUSTER_ROLE_BINDINGS",
    "MASTERS_GROUP",
    "RBACAuthorizer",
    "ROLES",
    "ROLE_BINDINGS",
]

MASTERS_GROUP = "system:masters"
CLUSTER_ROLES = "clusterroles.rbac.authorization.k8s.io"
CLUSTER_ROLE_BINDINGS = "clusterrolebindings.rbac.authorization.k8s.io"
ROLES = "roles.rbac.authorization.k8s.io"
ROLE_BINDINGS = "rolebindings.rbac.authorization.k8s.io"
_RESOURCES = (CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS)
_SA_PREFIX = "system:serviceaccount:"


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class _Grant:
    """One (binding, subject) pair with the rules of the role it references."""

    description: str
    rules: tuple[CompiledRule, ...]
    error: str = ""


@dataclass
class _Compiled:
    key: tuple[int, ...]
    # subject key -> grants, for ClusterRoleBindings and per-namespace RoleBindings
    cluster: dict[tuple[str, ...], list[_Grant]]
    namespaced: dict[str, dict[tuple[str, ...], list[_Grant]]]


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = str(subject.get("kind", "")), str(subject.get("name", ""))
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return f"{kind} {_q(name + '/' + ns)}"
    return f"{kind} {_q(name)}"


def _subject_key(subject: Mapping[str, Any], binding_namespace: str) -> tuple[str, ...] | None:
    kind, name = subject.get("kind"), subject.get("name")
    if not isinstance(name, str) or not name:
        return None
    if kind == "User":
        return ("User", name)
    if kind == "Group":
        return ("Group", name)
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        if not ns:
            return None
        return ("User", f"{_SA_PREFIX}{ns}:{name}")
    return None


def _user_keys(user: UserInfo) -> list[tuple[str, ...]]:
    return [("User", user.name), *(("Group", g) for g in user.groups)]


class RBACAuthorizer:
    """Authorizes against the RBAC objects visible through ``objects``."""

    def __init__(self, objects: ObjectSource) -> None:
        self._objects = objects
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()

    # -- compilation ---------------------------------------------------------------------
    def _current(self) -> _Compiled:
        key = tuple(self._objects.generation(r) for r in _RESOURCES)
        compiled = self._compiled
        if compiled is not None and compiled.key == key:
            return compiled
        with self._lock:
            compiled = self._compiled
            if compiled is None or compiled.key != key:
                compiled = self._compile(key)
                self._compiled = compiled
        return compiled

    def _role_rules(
        self, ref: Mapping[str, Any], namespace: str, cache: dict[tuple[str, str, str], Any]
    ) -> tuple[tuple[CompiledRule, ...], str]:
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        cache_key = (kind, namespace if kind == "Role" else "", name)
        if cache_key in cache:
            return cache[cache_key]  # type: ignore[no-any-return]
        if kind == "ClusterRole":
            role = self._objects.get(CLUSTER_ROLES, "", name)
            missing = f"clusterrole.rbac.authorization.k8s.io {_q(name)} not found"
        elif kind == "Role":
            role = self._objects.get(ROLES, namespace, name)
            missing = f"role.rbac.authorization.k8s.io {_q(name)} not found"
        else:
            role, missing = None, f"unsupported role reference kind: {_q(kind)}"
        if role is None:
            result: tuple[tuple[CompiledRule, ...], str] = ((), missing)
        else:
            result = (tuple(compile_rule(r) for r in (role.get("rules") or []) if isinstance(r, dict)), "")
        cache[cache_key] = result
        return result

    def _compile(self, key: tuple[int, ...]) -> _Compiled:
        roles_cache: dict[tuple[str, str, str], Any] = {}
        cluster: dict[tuple[str, ...], list[_Grant]] = defaultdict(list)
        crbs = sorted(self._objects.list(CLUSTER_ROLE_BINDINGS), key=lambda b: str(_meta(b).get("name", "")))
        for binding in crbs:
            name = str(_meta(binding).get("name", ""))
            ref = binding.get("roleRef") or {}
            rules, error = self._role_rules(ref, "", roles_cache)
            for subject in binding.get("subjects") or []:
                skey = _subject_key(subject, "")
                if skey is None:
                    continue
                desc = (
                    f"ClusterRoleBinding {_q(name)} of {ref.get('kind', '')} "
                    f"{_q(str(ref.get('name', '')))} to {_describe_subject(subject, '')}"
                )
                cluster[skey].append(_Grant(desc, rules, error))
        namespaced: dict[str, dict[tuple[str, ...], list[_Grant]]] = defaultdict(lambda: defaultdict(list))
        rbs = sorted(
            self._objects.list(ROLE_BINDINGS),
            key=lambda b: (str(_meta(b).get("namespace", "")), str(_meta(b).get("name", ""))),
        )
        for binding in rbs:
            name = str(_meta(binding).get("name", ""))
            ns = str(_meta(binding).get("namespace", ""))
            if not ns:
                continue
            ref = binding.get("roleRef") or {}
            rules, error = self._role_rules(ref, ns, roles_cache)
            for subject in binding.get("subjects") or []:
                skey = _subject_key(subject, ns)
                if skey is None:
                    continue
                desc = (
                    f"RoleBinding {_q(name + '/' + ns)} of {ref.get('kind', '')} "
                    f"{_q(str(ref.get('name', '')))} to {_describe_subject(subject, ns)}"
                )
                namespaced[ns][skey].append(_Grant(desc, rules, error))
        return _Compiled(key, dict(cluster), {k: dict(v) for k, v in namespaced.items()})

    def _grants(self, user: UserInfo, namespace: str) -> Iterable[_Grant]:
        compiled = self._current()
        keys = _user_keys(user)
        for skey in keys:
            yield from compiled.cluster.get(skey, ())
        if namespace:
            by_subject = compiled.namespaced.get(namespace)
            if by_subject:
                for skey in keys:
                    yield from by_subject.get(skey, ())

    # -- Authorizer ----------------------------------------------------------------------
    def authorize(self, attrs: AuthorizationAttributes) -> Decision:
        """Allow, or no opinion (with the dangling-reference errors as the reason)."""
        if MASTERS_GROUP in attrs.user.groups:
            return Decision(True, "")
        errors: list[str] = []
        seen: set[int] = set()
        for grant in self._grants(attrs.user, attrs.namespace):
            if id(grant) in seen:
                continue
            seen.add(id(grant))
            if grant.error:
                errors.append(grant.error)
                continue
            for rule in grant.rules:
                if rule.allows(attrs):
                    return Decision(True, f"RBAC: allowed by {grant.description}")
        reason = f"RBAC: {aggregate(errors)}" if errors else ""
        return Decision(False, reason, decided=False)

    def rules_and_errors(
        self, user: UserInfo, namespace: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool, str]:
        """(resourceRules, nonResourceRules, incomplete, evaluationError) for a user."""
        resource_rules: list[dict[str, Any]] = []
        non_resource_rules: list[dict[str, Any]] = []
        if MASTERS_GROUP in user.groups:
            resource_rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
            non_resource_rules.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
        errors: list[str] = []
        seen: set[int] = set()
        for grant in self._grants(user, namespace):
            if id(grant) in seen:
                continue
            seen.add(id(grant))
            if grant.error:
                errors.append(grant.error)
            for rule in grant.rules:
                src = rule.source
                if src.get("resources"):
                    out: dict[str, Any] = {"verbs": list(src.get("verbs") or [])}
                    if src.get("apiGroups"):
                        out["apiGroups"] = list(src["apiGroups"])
                    out["resources"] = list(src["resources"])
                    if src.get("resourceNames"):
                        out["resourceNames"] = list(src["resourceNames"])
                    resource_rules.append(out)
                if src.get("nonResourceURLs"):
                    non_resource_rules.append(
                        {"verbs": list(src.get("verbs") or []), "nonResourceURLs": list(src["nonResourceURLs"])}
                    )
        return resource_rules, non_resource_rules, False, aggregate(errors)

    def rules_for(
        self, user: UserInfo, namespace: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        resource_rules, non_resource_rules, incomplete, _ = self.rules_and_errors(user, namespace)
        return resource_rules, non_resource_rules, incomplete
