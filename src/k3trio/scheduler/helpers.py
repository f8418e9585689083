"""Taints, tolerations and node selectors: the matching rules several plugins share.

- :func:`tolerates` is ``Toleration.ToleratesTaint``: an empty toleration key with ``Exists``
  tolerates every taint; an empty effect matches every effect; ``Equal`` (or no operator)
  compares values.
- :class:`NodeSelector` is ``nodeaffinity.NodeSelector``: terms are ORed, the expressions and
  fields of one term ANDed; a term with neither matches nothing, and so does an invalid one
  (bad operator, ``Gt``/``Lt`` without one integer). Fields support ``metadata.name`` only.
- :class:`RequiredNodeAffinity` is ``nodeSelector`` AND the required node affinity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "NodeSelector",
    "RequiredNodeAffinity",
    "find_untolerated_taint",
    "tolerates",
    "tolerations_tolerate",
]

Obj = Mapping[str, Any]
NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "PreferNoSchedule", "NoExecute"


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """``ToleratesTaint``."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerations_tolerate(tolerations: Iterable[Obj], taint: Obj) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def find_untolerated_taint(taints: Iterable[Obj], tolerations: Sequence[Obj], effects: tuple[str, ...] = (NO_SCHEDULE, NO_EXECUTE)) -> Obj | None:
    """The first taint with one of ``effects`` that no toleration tolerates."""
    for taint in taints:
        if taint.get("effect") in effects and not tolerations_tolerate(tolerations, taint):
            return taint
    return None


def _int(text: str) -> int | None:
    try:
        return int(text, 10)
    except ValueError:
        return None


def _requirement_matches(req: Obj, value: str | None) -> bool:
    """One ``NodeSelectorRequirement`` against a label (or field) value; ``None`` is absent."""
    op = req.get("operator")
    values: Sequence[str] = req.get("values") or ()
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        have, want = _int(value), _int(values[0])
        if have is None or want is None:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _valid(req: Obj) -> bool:
    op = req.get("operator")
    values: Sequence[str] = req.get("values") or ()
    if op in ("In", "NotIn"):
        return bool(values)
    if op in ("Exists", "DoesNotExist"):
        return not values
    if op in ("Gt", "Lt"):
        return len(values) == 1 and _int(values[0]) is not None
    return False


def term_matches(term: Obj, name: str, labels: Mapping[str, str]) -> bool:
    """One ``NodeSelectorTerm``: every expression and field holds; an empty term matches nothing."""
    exprs = term.get("matchExpressions") or ()
    fields = term.get("matchFields") or ()
    if not exprs and not fields:
        return False
    for req in exprs:
        if not _valid(req) or not _requirement_matches(req, labels.get(req.get("key", ""))):
            return False
    for req in fields:
        if req.get("key") != "metadata.name" or req.get("operator") not in ("In", "NotIn"):
            return False
        if len(req.get("values") or ()) != 1 or not _requirement_matches(req, name):
            return False
    return True


class NodeSelector:
    """A ``v1.NodeSelector``: OR of terms."""

    __slots__ = ("terms",)

    def __init__(self, selector: Obj | None) -> None:
        self.terms: tuple[Obj, ...] = tuple((selector or {}).get("nodeSelectorTerms") or ())

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        return any(term_matches(t, name, labels) for t in self.terms)


class RequiredNodeAffinity:
    """``nodeaffinity.RequiredNodeAffinity``: the pod's ``nodeSelector`` and required terms."""

    __slots__ = ("node_selector", "required")

    def __init__(self, pod: Obj) -> None:
        spec = pod.get("spec") or {}
        self.node_selector: Mapping[str, str] = spec.get("nodeSelector") or {}
        req = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
               .get("requiredDuringSchedulingIgnoredDuringExecution"))  # fmt: skip
        self.required = NodeSelector(req) if req is not None else None

    @property
    def empty(self) -> bool:
        return not self.node_selector and self.required is None

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        for k, v in self.node_selector.items():
            if labels.get(k) != v:
                return False
        return self.required is None or self.required.matches(name, labels)

    def node_names(self) -> set[str] | None:
        """NodeAffinity's PreFilter result: the only nodes the terms can match, or ``None`` (any).

        A set comes back only when every term pins ``metadata.name`` with ``In``.
        """
        if self.required is None or not self.required.terms:
            return None
        result: set[str] = set()
        for term in self.required.terms:
            names: set[str] | None = None
            for f in term.get("matchFields") or ():
                if f.get("key") == "metadata.name" and f.get("operator") == "In":
                    vals = set(f.get("values") or ())
                    names = vals if names is None else names & vals
            if names is None:
                return None
            result |= names
        return result
