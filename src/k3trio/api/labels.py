"""Label selectors: parse, match and print them exactly as apimachinery's ``labels`` package.

Grammar (``labels.Parse``)::

    selector    := requirement ("," requirement)*  |  ""
    requirement := ["!"] key | key op value | key ("in" | "notin") "(" values ")"
    op          := "=" | "==" | "!=" | ">" | "<"

Invariants:
- A parsed selector's requirements are sorted by key; ``in``/``notin`` value sets are
  sorted and de-duplicated, so ``str()`` is canonical and equal selectors print equally.
- Keys must be qualified names and values label values; ``>``/``<`` need one integer.
  Errors (:class:`SelectorError`) carry upstream's text, e.g. ``unable to parse
  requirement: <nil>: Invalid value: "a b": name part must consist of ...``.
- The empty selector matches everything; :data:`NOTHING` (a nil ``LabelSelector``)
  matches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from k3trio.api import names

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "Requirement",
    "Selector",
    "SelectorError",
    "from_label_selector",
    "new_requirement",
    "parse",
    "selector_from_set",
    "to_label_selector",
]

EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "in", "notin", "exists", "!"
GREATER_THAN, LESS_THAN = "gt", "lt"
_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_VALID_OPERATORS = (DOES_NOT_EXIST, EQUALS, DOUBLE_EQUALS, IN, NOT_EQUALS, NOT_IN, EXISTS,
                    GREATER_THAN, LESS_THAN)  # fmt: skip


class SelectorError(ValueError):
    """A selector string or ``LabelSelector`` object that is not valid."""


def _go_quote(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _invalid(path: str, value: str | list[str], detail: str) -> str:
    shown = _go_quote(value) if isinstance(value, str) else (
        "[]string{" + ", ".join(_go_quote(v) for v in value) + "}" if value else "[]string{}"
    )
    return f"{path}: Invalid value: {shown}: {detail}"


def _int64(text: str) -> int | None:
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


@dataclass(frozen=True)
class Requirement:
    """One ``key op values`` term. Build with :func:`new_requirement` to validate."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or len(self.values) != 1:
                return False
            have, want = _int64(labels[self.key]), _int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        symbol = {EQUALS: "=", DOUBLE_EQUALS: "==", NOT_EQUALS: "!=", IN: " in ", NOT_IN: " notin ",
                  GREATER_THAN: ">", LESS_THAN: "<"}[op]  # fmt: skip
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            values = f"({values})"
        return f"{self.key}{symbol}{values}"


def new_requirement(key: str, operator: str, values: Iterable[str] = (), path: str = "<nil>") -> Requirement:
    """``labels.NewRequirement``: validate and build one requirement.

    Raises:
        SelectorError: aggregated field errors, worded as upstream.
    """
    vals = list(values)
    child = (lambda name: name) if path == "<nil>" else (lambda name: f"{path}.{name}")
    errs: list[str] = []
    key_errs = names.is_qualified_name(key)
    if key_errs:
        errs.append(_invalid(child("key"), key, "; ".join(key_errs)))
    vpath = child("values")
    if operator in (IN, NOT_IN):
        if not vals:
            errs.append(_invalid(vpath, vals, "for 'in', 'notin' operators, values set can't be empty"))
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(_invalid(vpath, vals, "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(_invalid(vpath, vals, "values set must be empty for exists and does not exist"))
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(_invalid(vpath, vals, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(vals):
            if _int64(v) is None:
                errs.append(_invalid(f"{vpath}[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer"))
    else:
        supported = ", ".join(_go_quote(o) for o in _VALID_OPERATORS)
        errs.append(f"{child('operator')}: Unsupported value: {_go_quote(operator)}: supported values: {supported}")
    for i, v in enumerate(vals):
        value_errs = names.is_valid_label_value(v)
        if value_errs:
            errs.append(_invalid(f"{vpath}[{i}][{key}]", v, "; ".join(value_errs)))
    if errs:
        unique = list(dict.fromkeys(errs))
        raise SelectorError(unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")
    return Requirement(key, operator, tuple(vals))


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements (sorted by key). ``nothing`` selects no object."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True for the match-everything selector."""
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def add(self, *requirements: Requirement) -> Selector:
        return Selector(tuple(sorted(self.requirements + requirements, key=lambda r: r.key)), self.nothing)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


# -- lexer and parser ----------------------------------------------------------------------------

_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_SYMBOLS = {")": "CLOSE", ",": "COMMA", "!": "NOT", "==": "DEQ", "=": "EQ", ">": "GT", "<": "LT",
            "!=": "NEQ", "(": "OPEN"}  # fmt: skip
_KEYWORDS = {"in": "IN", "notin": "NOTIN"}


def _lex(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            tokens.append(("END", ""))
            return tokens
        if text[i] in _SPECIAL:
            buf, last = "", None
            while i < n and text[i] in _SPECIAL:
                candidate = buf + text[i]
                if candidate in _SYMBOLS:
                    buf, last = candidate, (_SYMBOLS[candidate], candidate)
                    i += 1
                elif last is not None:
                    break
                else:
                    buf = candidate
                    i += 1
            if last is None:
                tokens.append(("ERROR", f"error expected: keyword found '{buf}'"))
            else:
                tokens.append(last)
            continue
        start = i
        while i < n and text[i] not in _WHITESPACE and text[i] not in _SPECIAL:
            i += 1
        word = text[start:i]
        tokens.append((_KEYWORDS.get(word, "ID"), word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.tokens[self.pos]
        if values and tok in ("IN", "NOTIN"):
            tok = "ID"
        return tok, lit

    def consume(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.lookahead(values)
        self.pos += 1
        return tok, lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in ("ID", "NOT"):
                try:
                    reqs.append(self.requirement())
                except SelectorError as exc:
                    raise SelectorError(f"unable to parse requirement: {exc}") from None
                tok, lit = self.consume()
                if tok == "END":
                    return reqs
                if tok == "COMMA":
                    t2, l2 = self.lookahead()
                    if t2 not in ("ID", "NOT"):
                        raise SelectorError(f"found '{l2}', expected: identifier after ','")
                    continue
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            if tok == "END":
                return reqs
            raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        op = None
        tok, lit = self.consume()
        if tok == "NOT":
            op = DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok != "ID":
            raise SelectorError(f"found '{lit}', expected: identifier")
        key = lit
        key_errs = names.is_qualified_name(key)
        if key_errs:
            raise SelectorError(_invalid("<nil>", key, "; ".join(key_errs)))
        if self.lookahead()[0] in ("END", "COMMA") and op is None:
            op = EXISTS
        if op in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, op, ())
        tok, lit = self.consume(values=False)
        op = {"IN": IN, "EQ": EQUALS, "DEQ": DOUBLE_EQUALS, "GT": GREATER_THAN, "LT": LESS_THAN,
              "NOTIN": NOT_IN, "NEQ": NOT_EQUALS}.get(tok)  # fmt: skip
        if op is None:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        values = self.values_list() if op in (IN, NOT_IN) else self.exact_value()
        return new_requirement(key, op, sorted(set(values)))

    def values_list(self) -> list[str]:
        tok, lit = self.consume()
        if tok != "OPEN":
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in ("ID", "COMMA"):
            values = self.identifiers()
            if self.consume()[0] != "CLOSE":
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == "CLOSE":
            self.consume()
            return [""]
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> list[str]:
        values: list[str] = []
        while True:
            tok, lit = self.consume()
            if tok == "ID":
                values.append(lit)
                t2, l2 = self.lookahead()
                if t2 == "COMMA":
                    continue
                if t2 == "CLOSE":
                    return values
                raise SelectorError(f"found '{l2}', expected: ',' or ')'")
            if tok == "COMMA":
                if not values:
                    values.append("")
                t2, _ = self.lookahead()
                if t2 == "CLOSE":
                    values.append("")
                    return values
                if t2 == "COMMA":
                    self.consume()
                    values.append("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> list[str]:
        tok, _ = self.lookahead()
        if tok in ("END", "COMMA"):
            return [""]
        tok, lit = self.consume()
        if tok == "ID":
            return [lit]
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse(text: str) -> Selector:
    """``labels.Parse``: a selector string to a :class:`Selector`.

    Raises:
        SelectorError: with upstream's message.
    """
    reqs = _Parser(text).parse()
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


def selector_from_set(labels: Mapping[str, str]) -> Selector:
    """``SelectorFromValidatedSet``: ``k=v`` for every entry (no validation)."""
    return Selector(tuple(Requirement(k, EQUALS, (v,)) for k, v in sorted(labels.items())))


_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_label_selector(obj: Mapping[str, Any] | None) -> Selector:
    """``metav1.LabelSelectorAsSelector``: ``None`` selects nothing, ``{}`` everything.

    Raises:
        SelectorError: an unknown operator or an invalid key/value.
    """
    if obj is None:
        return NOTHING
    match_labels = obj.get("matchLabels") or {}
    expressions = obj.get("matchExpressions") or []
    if not match_labels and not expressions:
        return EVERYTHING
    reqs = [new_requirement(k, EQUALS, [v]) for k, v in match_labels.items()]
    for expr in expressions:
        op = _OPS.get(expr.get("operator", ""))
        if op is None:
            raise SelectorError(f"{_go_quote(str(expr.get('operator', '')))} is not a valid label selector operator")
        reqs.append(new_requirement(expr.get("key", ""), op, list(expr.get("values") or [])))
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


def to_label_selector(selector: Selector | str) -> dict[str, Any]:
    """``metav1.ParseToLabelSelector``: a selector back to a ``LabelSelector`` object.

    Raises:
        SelectorError: the selector uses ``>``/``<``, which ``LabelSelector`` cannot express.
    """
    sel = parse(selector) if isinstance(selector, str) else selector
    match_labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    for r in sel.requirements:
        if r.operator in (EQUALS, DOUBLE_EQUALS):
            match_labels[r.key] = r.values[0]
        elif r.operator == NOT_EQUALS:
            expressions.append({"key": r.key, "operator": "NotIn", "values": list(r.values)})
        elif r.operator in (IN, NOT_IN):
            expressions.append({"key": r.key, "operator": "In" if r.operator == IN else "NotIn",
                                "values": list(r.values)})  # fmt: skip
        elif r.operator in (EXISTS, DOES_NOT_EXIST):
            expressions.append({"key": r.key, "operator": "Exists" if r.operator == EXISTS else "DoesNotExist"})
        else:
            raise SelectorError(f"invalid selector operator: {r.operator}")
    out: dict[str, Any] = {}
    if match_labels:
        out["matchLabels"] = match_labels
    if expressions:
        out["matchExpressions"] = expressions
    return out
