"""Field selectors: parse (``fields.ParseSelector``), check against a kind's selectable fields
(``ConvertFieldLabel``), and match objects (the registry strategies' ``GetAttrs``).

Invariants:
- Terms are ``field=value``, ``field==value`` or ``field!=value`` joined by ``,`` (AND);
  in values ``\\``, ``,`` and ``=`` are escaped with a backslash. Terms are sorted, so
  ``str()`` is canonical.
- Every kind supports ``metadata.name`` and ``metadata.namespace``; kinds in
  :data:`FIELD_TABLE` add their own fields (and, like upstream, answer an unknown field with
  ``field label not supported: <field>``); other kinds answer with apimachinery's default
  ``"<field>" is not a known field selector: only "metadata.name", "metadata.namespace"``.
- A field missing from an object reads as ``""``; ``!=`` on it is true unless the value is
  empty, exactly as matching against upstream's ``fields.Set``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FIELD_TABLE",
    "FieldSelectorError",
    "Selector",
    "Term",
    "convert_selector",
    "escape_value",
    "field_set",
    "parse",
    "unescape_value",
]


class FieldSelectorError(ValueError):
    """A malformed field selector or a field the kind cannot select on."""


def escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(value: str) -> str:
    """``UnescapeValue``.

    Raises:
        FieldSelectorError: an unknown escape or an unescaped ``,``/``=``.
    """
    if not any(c in value for c in "\\,="):
        return value
    out = []
    escaped = False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise FieldSelectorError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            # Upstream formats the rune with %v, which prints its code point.
            raise FieldSelectorError(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if escaped:
        raise FieldSelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


@dataclass(frozen=True)
class Term:
    field: str
    value: str
    negated: bool = False

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return (have != self.value) if self.negated else (have == self.value)

    def __str__(self) -> str:
        return f"{self.field}{'!=' if self.negated else '='}{escape_value(self.value)}"


@dataclass(frozen=True)
class Selector:
    terms: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(t.matches(fields) for t in self.terms)

    def requires_exact(self, field: str) -> str | None:
        """The value ``field`` must equal, if the selector pins it (``RequiresExactMatch``)."""
        for t in self.terms:
            if t.field == field and not t.negated:
                return t.value
        return None

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def _split_terms(text: str) -> list[str]:
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def parse(text: str) -> Selector:
    """``fields.ParseSelector``.

    Raises:
        FieldSelectorError: with upstream's message.
    """
    if not text:
        return Selector()
    terms = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise FieldSelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        terms.append(Term(lhs, unescape_value(rhs), negated=op == "!="))
    return Selector(tuple(terms))


# -- per-kind selectable fields --------------------------------------------------------------

Extractor = Callable[[Mapping[str, Any]], str]


def _path(*keys: str, default: str = "") -> Extractor:
    def get(obj: Mapping[str, Any]) -> str:
        node: Any = obj
        for key in keys:
            if not isinstance(node, Mapping):
                return default
            node = node.get(key)
        if node is None:
            return default
        if isinstance(node, bool):
            return "true" if node else "false"
        return str(node)

    return get


def _pod_ip(obj: Mapping[str, Any]) -> str:
    ips = (obj.get("status") or {}).get("podIPs") or []
    if ips and isinstance(ips[0], Mapping):
        return str(ips[0].get("ip", ""))
    return str((obj.get("status") or {}).get("podIP") or "")


def _event_source(obj: Mapping[str, Any]) -> str:
    component = (obj.get("source") or {}).get("component") or ""
    return str(component or obj.get("reportingComponent") or "")


@dataclass(frozen=True)
class KindFields:
    """The selectable fields of one kind, beyond ``metadata.name``/``metadata.namespace``."""

    extractors: Mapping[str, Extractor]
    aliases: Mapping[str, str] = field(default_factory=dict)
    # Upstream's message for an unknown field; "{}" takes the field name.
    unsupported: str = "field label not supported: {}"


_POD = KindFields(
    {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _path("spec", "hostNetwork", default="false"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _pod_ip,
        "status.podIPs": _pod_ip,
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    {"spec.host": "spec.nodeName"},
)
_EVENT = KindFields(
    {
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _event_source,
        "type": _path("type"),
    }
)

FIELD_TABLE: dict[tuple[str, str], KindFields] = {
    ("", "Pod"): _POD,
    ("", "Event"): _EVENT,
    ("", "Node"): KindFields({"spec.unschedulable": _path("spec", "unschedulable", default="false")}),
    ("", "Namespace"): KindFields({"status.phase": _path("status", "phase")}),
    ("", "Secret"): KindFields({"type": _path("type")}),
    ("", "ReplicationController"): KindFields({"status.replicas": _path("status", "replicas", default="0")}),
    ("", "Service"): KindFields({"spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")}),
    ("batch", "Job"): KindFields({"status.successful": _path("status", "succeeded", default="0")}),
    ("certificates.k8s.io", "CertificateSigningRequest"): KindFields(
        {"spec.signerName": _path("spec", "signerName")}
    ),
}
# Core kinds whose conversion accepts only the metadata fields, with their own message.
for _kind in ("Endpoints", "ResourceQuota", "PersistentVolumeClaim", "ServiceAccount", "ConfigMap"):
    FIELD_TABLE[("", _kind)] = KindFields({}, unsupported='field label "{}" not supported for "%s"' % _kind)
del _kind


def _meta_fields(obj: Mapping[str, Any], namespaced: bool) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    out = {"metadata.name": str(meta.get("name") or "")}
    if namespaced:
        out["metadata.namespace"] = str(meta.get("namespace") or "")
    return out


def field_set(group: str, kind: str, obj: Mapping[str, Any], namespaced: bool = True) -> dict[str, str]:
    """The selectable fields of one object (``GetAttrs``), ready for ``Selector.matches``."""
    fields = _meta_fields(obj, namespaced)
    spec = FIELD_TABLE.get((group, kind))
    if spec is not None:
        for name, extract in spec.extractors.items():
            fields[name] = extract(obj)
    return fields


def convert_selector(
    group: str, kind: str, selector: Selector, extra_fields: Mapping[str, Extractor] | None = None
) -> Selector:
    """``ConvertFieldLabel`` for every term: reject unsupported fields, apply aliases.

    ``extra_fields`` lists a custom resource's ``selectableFields`` (they then accept the
    default message's fields plus these).

    Raises:
        FieldSelectorError: the first unsupported field, with the kind's upstream message.
    """
    spec = FIELD_TABLE.get((group, kind))
    out = []
    for term in selector.terms:
        name = term.field
        if name in ("metadata.name", "metadata.namespace"):
            out.append(term)
            continue
        if spec is not None:
            aliased = spec.aliases.get(name, name)
            if aliased in spec.extractors:
                out.append(Term(aliased, term.value, term.negated))
                continue
            raise FieldSelectorError(spec.unsupported.format(name))
        if extra_fields and name in extra_fields:
            out.append(term)
            continue
        raise FieldSelectorError(
            f'"{name}" is not a known field selector: only "metadata.name", "metadata.namespace"'
        )
    return Selector(tuple(out))
