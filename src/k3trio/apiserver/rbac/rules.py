"""PolicyRule matching, exactly as RBAC's ``RuleAllows`` (rbac/v1 helpers).

A resource request is allowed by a rule when all of these hold:

- verb: ``*`` or equal;
- API group: ``*`` or equal (``""`` is the core group);
- resource: ``*``; or equal to ``<resource>`` / ``<resource>/<subresource>``; or, for a
  subresource request, ``*/<subresource>``;
- resourceNames: empty, or containing the requested name (so a rule with names never
  allows a request without a name, such as list or create).

A non-resource request (``/healthz``) is allowed when the verb matches and a
``nonResourceURLs`` entry is ``*``, equal to the path, or ends in ``*`` and is a prefix.

Rules are compiled once into frozensets (:class:`CompiledRule`) so matching is set lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..interfaces import AuthorizationAttributes

__all__ = ["CompiledRule", "compile_rule", "rule_allows"]

ALL = "*"


@dataclass(frozen=True)
class CompiledRule:
    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: frozenset[str]
    resource_names: frozenset[str]
    non_resource_urls: tuple[str, ...]
    #: The rule as stored, for SelfSubjectRulesReview.
    source: Mapping[str, Any]

    def allows(self, attrs: AuthorizationAttributes) -> bool:
        if ALL not in self.verbs and attrs.verb not in self.verbs:
            return False
        if attrs.resource_request:
            return self._resource_matches(attrs)
        return self._url_matches(attrs.path)

    def _resource_matches(self, attrs: AuthorizationAttributes) -> bool:
        if ALL not in self.api_groups and attrs.api_group not in self.api_groups:
            return False
        resources = self.resources
        if ALL not in resources:
            if attrs.subresource:
                combined = f"{attrs.resource}/{attrs.subresource}"
                if combined not in resources and f"*/{attrs.subresource}" not in resources:
                    return False
            elif attrs.resource not in resources:
                return False
        if self.resource_names and attrs.name not in self.resource_names:
            return False
        return True

    def _url_matches(self, path: str) -> bool:
        for url in self.non_resource_urls:
            if url == ALL or url == path:
                return True
            if url.endswith("*") and path.startswith(url[:-1]):
                return True
        return False


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def compile_rule(rule: Mapping[str, Any]) -> CompiledRule:
    return CompiledRule(
        verbs=frozenset(_strings(rule.get("verbs"))),
        api_groups=frozenset(_strings(rule.get("apiGroups"))),
        resources=frozenset(_strings(rule.get("resources"))),
        resource_names=frozenset(_strings(rule.get("resourceNames"))),
        non_resource_urls=tuple(_strings(rule.get("nonResourceURLs"))),
        source=rule,
    )


def rule_allows(attrs: AuthorizationAttributes, rule: Mapping[str, Any]) -> bool:
    """Whether one (uncompiled) PolicyRule allows ``attrs``."""
    return compile_rule(rule).allows(attrs)
