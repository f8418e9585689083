"""Kubernetes JSONPath templates, as ``kubectl -o jsonpath``, custom columns and CRD printer
columns evaluate them (client-go ``util/jsonpath`` semantics).

A template is literal text with ``{...}`` actions::

    {.metadata.name}                        a field
    {.items[*].metadata.name}               every item (results joined by spaces)
    {range .items[*]}{.metadata.name}{"\\n"}{end}   iteration
    {.status.conditions[?(@.type=="Ready")].status} filters (== != < > <= >= =~, or existence)
    {.items[0:2]} {.items[-1]} {.a[*]} {..name} {.a.*} {['a','b']} {.a\\.b}

Evaluation works on decoded JSON (dicts, lists, str, int, float, bool, None). Each
top-level action yields one list of results; printing writes each list's values separated by
single spaces: strings as-is, numbers and booleans as Go prints them, ``null`` as ``<nil>``,
objects and arrays as compact Go JSON (sorted keys, HTML-escaped).

Invariants (as upstream):
- Every action starts from the current object (the root, or the range item).
- A missing map key fails with ``<key> is not found`` unless ``allow_missing_keys``; null
  values and non-container values are skipped silently by field, index and wildcard steps.
- ``['a.b']`` is the same as ``.a.b`` (the quoted text is re-parsed as a field path); escape
  a literal dot as ``\\.``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Union

__all__ = ["JSONPath", "JSONPathError", "format_value", "go_json", "relaxed_expression"]


class JSONPathError(ValueError):
    """A template that does not parse, or an evaluation failure (message as upstream)."""


# -- nodes -----------------------------------------------------------------------------------


@dataclass
class _List:
    nodes: list[Node] = field(default_factory=list)


@dataclass
class _Text:
    text: str


@dataclass
class _Field:
    name: str


@dataclass
class _Ident:
    name: str


@dataclass
class _Array:
    # (known, value) for start/end/step; end may be "derived" (a single index).
    start: tuple[bool, int]
    end: tuple[bool, int, bool]
    step: tuple[bool, int]


@dataclass
class _Filter:
    left: _List
    right: _List
    op: str


@dataclass
class _Union:
    parts: list[_List]


@dataclass
class _Literal:
    value: Any


class _Wildcard:
    pass


class _Recursive:
    pass


Node = Union[_List, _Text, _Field, _Ident, _Array, _Filter, _Union, _Literal, _Wildcard, _Recursive]


# -- parser -------------------------------------------------------------------------------------

_DICT_KEY = re.compile(r"^'([^']*)'$")
_SLICE = re.compile(r"^(-?\d*)(:-?\d*)?(:-?\d*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=~]+)(.+?)$", re.S)
_TERMINATORS = set(" \t\r\n.,[]$@{}")


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.root = _List()

    def parse(self) -> _List:
        while True:
            start = self.pos
            idx = self.text.find("{", self.pos)
            if idx < 0:
                if start < len(self.text):
                    self.root.nodes.append(_Text(self.text[start:]))
                return self.root
            if idx > start:
                self.root.nodes.append(_Text(self.text[start:idx]))
            self.pos = idx + 1
            action = _List()
            self.root.nodes.append(action)
            self._inside(action)

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _inside(self, cur: _List) -> None:
        while True:
            rest = self.text[self.pos:]
            if rest.startswith("}"):
                self.pos += 1
                return
            if rest.startswith("[?("):
                self._filter(cur)
                continue
            if rest.startswith(".."):
                if cur.nodes and isinstance(cur.nodes[-1], _Recursive):
                    raise JSONPathError("invalid multiple recursive descent")
                self.pos += 2
                cur.nodes.append(_Recursive())
                if _is_alnum(self._peek()):
                    self._field(cur)
                continue
            ch = self._peek()
            if ch == "" or ch in "\r\n":
                raise JSONPathError("unclosed action")
            self.pos += 1
            if ch in " @$":
                continue
            if ch == "[":
                self._array(cur)
            elif ch in "\"'":
                self._quote(cur, ch)
            elif ch == ".":
                self._field(cur)
            elif ch in "+-" or ch.isdigit():
                self.pos -= 1
                self._number(cur)
            elif _is_alnum(ch):
                self.pos -= 1
                self._identifier(cur)
            else:
                raise JSONPathError(f"unrecognized character in action: U+{ord(ch):04X} {ch!r}")

    def _scan_word(self) -> str:
        start = self.pos
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\":
                self.pos += 2
                continue
            if ch in _TERMINATORS:
                break
            self.pos += 1
        self.pos = min(self.pos, len(self.text))
        return self.text[start:self.pos]

    def _field(self, cur: _List) -> None:
        word = self._scan_word()
        cur.nodes.append(_Wildcard() if word == "*" else _Field(word.replace("\\", "")))

    def _identifier(self, cur: _List) -> None:
        word = self._scan_word()
        if word in ("true", "false"):
            cur.nodes.append(_Literal(word == "true"))
        else:
            cur.nodes.append(_Ident(word))

    def _number(self, cur: _List) -> None:
        start = self.pos
        if self._peek() in "+-" and self._peek():
            self.pos += 1
        while self.pos < len(self.text) and (self.text[self.pos] == "." or self.text[self.pos].isdigit()):
            self.pos += 1
        text = self.text[start:self.pos]
        if re.fullmatch(r"[+-]?\d+", text):
            cur.nodes.append(_Literal(int(text)))
            return
        try:
            cur.nodes.append(_Literal(float(text)))
        except ValueError:
            raise JSONPathError(f"cannot parse number {text}") from None

    def _quote(self, cur: _List, quote: str) -> None:
        start = self.pos - 1
        while True:
            ch = self._peek()
            if ch == "" or ch == "\n":
                raise JSONPathError("unterminated quoted string")
            self.pos += 1
            if ch == quote and self.text[self.pos - 2] != "\\":
                break
        raw = self.text[start:self.pos]
        cur.nodes.append(_Text(_unquote(raw)))

    def _array(self, cur: _List) -> None:
        start = self.pos - 1
        while True:
            ch = self._peek()
            if ch == "" or ch == "\n":
                raise JSONPathError("unterminated array")
            self.pos += 1
            if ch == "]":
                break
        text = self.text[start + 1:self.pos - 1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            cur.nodes.append(_Union([_parse_action(f"[{p.strip(' ')}]") for p in parts]))
            return
        m = _DICT_KEY.match(text)
        if m:
            cur.nodes.extend(_parse_action("." + m.group(1)).nodes)
            return
        m = _SLICE.match(text)
        if not m:
            raise JSONPathError(f"invalid array index {text}")
        raw = [m.group(1) or "", (m.group(2) or "")[1:], (m.group(3) or "")[1:]]
        has = [bool(m.group(1)), m.group(2) is not None, m.group(3) is not None]

        def num(s: str) -> int:
            try:
                return int(s)
            except ValueError:
                raise JSONPathError(f"array index {s} is not a number") from None

        start_p = (True, num(raw[0])) if has[0] else (False, 0)
        if has[1]:
            end_p = (True, num(raw[1]), False) if raw[1] else (False, 0, False)
        else:
            end_p = (True, start_p[1] + 1, True)
        step_p = (True, num(raw[2])) if has[2] and raw[2] else (False, 0)
        cur.nodes.append(_Array(start_p, end_p, step_p))

    def _filter(self, cur: _List) -> None:
        self.pos += 3
        start = self.pos
        begin = end = False
        pair = ""
        while True:
            ch = self._peek()
            if ch == "" or ch == "\n":
                raise JSONPathError("unterminated filter")
            self.pos += 1
            if ch in "\"'":
                if not begin:
                    begin, pair = True, ch
                    continue
                if self.text[self.pos - 2] != "\\" and ch == pair:
                    end = True
            elif ch == ")" and begin == end:
                break
        if self._peek() != "]":
            raise JSONPathError("unclosed array expect ]")
        self.pos += 1
        text = self.text[start:self.pos - 2]
        m = _FILTER.match(text)
        if m is None:
            cur.nodes.append(_Filter(_parse_action(text), _List(), "exists"))
        else:
            cur.nodes.append(_Filter(_parse_action(m.group(1)), _parse_action(m.group(3)), m.group(2)))


def _parse_action(text: str) -> _List:
    root = _Parser("{" + text + "}").parse()
    first = root.nodes[0]
    assert isinstance(first, _List)
    return first


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def _unquote(raw: str) -> str:
    """Go's ``strconv.Unquote`` extended to single-quoted strings."""
    body = raw[1:-1]
    if len(raw) < 2 or raw[0] != raw[-1]:
        raise JSONPathError(f"unquote string {raw} error invalid syntax")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise JSONPathError(f"unquote string {raw} error invalid syntax")
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = body[i + 2:i + 2 + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise JSONPathError(f"unquote string {raw} error invalid syntax")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif nxt in "01234567":
            digits = body[i + 1:i + 4]
            if not re.fullmatch(r"[0-7]{3}", digits):
                raise JSONPathError(f"unquote string {raw} error invalid syntax")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise JSONPathError(f"unquote string {raw} error invalid syntax")
    return "".join(out)


# -- value formatting -------------------------------------------------------------------------


def _go_float(value: float) -> str:
    """``fmt.Sprint(float64)``: shortest digits, exponent form below 1e-4 or from 1e21."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits_t, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digits_t))
    assert isinstance(exponent, int)
    point = len(digits) + exponent  # position of the decimal point
    exp = point - 1
    neg = "-" if sign else ""
    if exp < -4 or exp >= 21:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{neg}{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return neg + digits + "0" * (point - len(digits))
    return f"{neg}{digits[:point]}.{digits[point:]}"


def go_json(value: Any) -> str:
    """``json.Marshal`` of decoded JSON: compact, sorted keys, HTML-safe escapes."""
    text = json.dumps(_json_numbers(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def _json_numbers(value: Any) -> Any:
    if isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value):
        if value == int(value) and abs(value) < 1e21:
            return int(value)
        return value
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


def format_value(value: Any) -> str:
    """One result as ``PrintResults`` writes it."""
    if isinstance(value, (dict, list)):
        return go_json(value)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "interface {}"


def _go_value(value: Any) -> str:
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    return format_value(value)


# -- evaluation ---------------------------------------------------------------------------------


_MISSING = object()


class JSONPath:
    """A parsed template.

    Args:
        template: the template text (``{.metadata.name}``).
        allow_missing_keys: missing keys yield no result instead of an error (kubectl's
            default ``--allow-missing-template-keys=true``).

    Raises:
        JSONPathError: the template does not parse.
    """

    def __init__(self, template: str, *, allow_missing_keys: bool = False, json_output: bool = False) -> None:
        self.template = template
        self.allow_missing_keys = allow_missing_keys
        self.json_output = json_output
        self._nodes = _Parser(template).parse().nodes

    # -- public API ------------------------------------------------------------------------
    def find_results(self, data: Any) -> list[list[Any]]:
        """The results of each top-level node (text and actions) in order.

        Raises:
            JSONPathError: evaluation failed (missing key, bad index, ...).
        """
        out: list[list[Any]] = []
        self._run(self._nodes, data, out, depth=0)
        return out

    def print_results(self, results: list[Any]) -> str:
        """One result list as text (values joined by single spaces)."""
        if self.json_output:
            return json.dumps(_json_numbers(results), indent=4, ensure_ascii=False) + "\n"
        return " ".join(format_value(v) for v in results)

    def execute(self, data: Any) -> str:
        """Evaluate and print the whole template."""
        return "".join(self.print_results(r) for r in self.find_results(data))

    # -- range handling ----------------------------------------------------------------------
    def _run(self, nodes: list[Node], data: Any, out: list[list[Any]], depth: int) -> None:
        i = 0
        while i < len(nodes):
            node = nodes[i]
            kind = _range_marker(node)
            if kind == "end":
                if depth == 0:
                    raise JSONPathError("not in range, nothing to end")
                return
            if kind == "range":
                assert isinstance(node, _List)
                values = self._eval_list([data], _List(node.nodes[1:]))
                end = _matching_end(nodes, i + 1)
                body = nodes[i + 1:end]
                for value in values:
                    self._run(body, value, out, depth + 1)
                i = end + 1
                continue
            out.append(self._walk([data], node))
            i += 1

    # -- node evaluation -------------------------------------------------------------------
    def _walk(self, values: list[Any], node: Node) -> list[Any]:
        if isinstance(node, _List):
            return self._eval_list(values, node)
        if isinstance(node, _Text):
            return [node.text]
        if isinstance(node, _Field):
            return self._eval_field(values, node.name)
        if isinstance(node, _Array):
            return self._eval_array(values, node)
        if isinstance(node, _Filter):
            return self._eval_filter(values, node)
        if isinstance(node, _Literal):
            return [node.value for _ in values]
        if isinstance(node, _Wildcard):
            return [child for v in values for child in _children(v)]
        if isinstance(node, _Recursive):
            return self._eval_recursive(values)
        if isinstance(node, _Union):
            return [r for part in node.parts for r in self._eval_list(values, part)]
        if isinstance(node, _Ident):
            if node.name in ("range", "end"):
                raise JSONPathError(f"unexpected {node.name}")
            raise JSONPathError(f"unrecognized identifier {node.name}")
        raise JSONPathError(f"unexpected Node {node!r}")

    def _eval_list(self, values: list[Any], node: _List) -> list[Any]:
        for child in node.nodes:
            values = self._walk(values, child)
        return values

    def _eval_field(self, values: list[Any], name: str) -> list[Any]:
        if not values:
            return []
        results = []
        for value in values:
            if isinstance(value, dict):
                found = value.get(name, _MISSING)
                if found is not _MISSING:
                    results.append(found)
        if not results and not self.allow_missing_keys:
            raise JSONPathError(f"{name} is not found")
        return results

    def _eval_array(self, values: list[Any], node: _Array) -> list[Any]:
        results: list[Any] = []
        for value in values:
            if value is None:
                continue
            if not isinstance(value, list):
                raise JSONPathError(f"{_go_type(value)} is not array or slice")
            n = len(value)
            start = node.start[1] if node.start[0] else 0
            if start < 0:
                start += n
            known_end, end, derived = node.end
            if not known_end:
                end = n
            if end < 0 or (end == 0 and derived):
                end += n
            if end == start:
                return results
            if start >= n or start < 0:
                raise JSONPathError(f"array index out of bounds: index {start}, length {n}")
            if end > n or end < 0:
                raise JSONPathError(f"array index out of bounds: index {end - 1}, length {n}")
            if start > end:
                raise JSONPathError(f"starting index {start} is greater than ending index {end}")
            step = 1
            if node.step[0]:
                if node.step[1] <= 0:
                    raise JSONPathError("step must be > 0")
                step = node.step[1]
            results.extend(value[start:end:step])
        return results

    def _eval_recursive(self, values: list[Any]) -> list[Any]:
        results: list[Any] = []
        for value in values:
            children = list(_children(value))
            if children:
                results.append(value)
                results.extend(self._eval_recursive(children))
        return results

    def _eval_filter(self, values: list[Any], node: _Filter) -> list[Any]:
        results: list[Any] = []
        for value in values:
            if not isinstance(value, list):
                raise JSONPathError(f"{_go_value(value)} is not array or slice and cannot be filtered")
            for item in value:
                if node.op == "exists":
                    try:
                        lefts = self._eval_list([item], node.left)
                    except JSONPathError:
                        lefts = []
                    if lefts:
                        results.append(item)
                    continue
                lefts = self._eval_list([item], node.left)
                if not lefts:
                    continue
                if len(lefts) > 1:
                    raise JSONPathError("can only compare one element at a time")
                rights = self._eval_list([item], node.right)
                if not rights:
                    continue
                if len(rights) > 1:
                    raise JSONPathError("can only compare one element at a time")
                if _compare(node.op, lefts[0], rights[0]):
                    results.append(item)
        return results


def _range_marker(node: Node) -> str:
    if isinstance(node, _List) and node.nodes and isinstance(node.nodes[0], _Ident):
        if node.nodes[0].name in ("range", "end"):
            return node.nodes[0].name
    return ""


def _matching_end(nodes: list[Node], start: int) -> int:
    depth = 0
    for i in range(start, len(nodes)):
        marker = _range_marker(nodes[i])
        if marker == "range":
            depth += 1
        elif marker == "end":
            if depth == 0:
                return i
            depth -= 1
    return len(nodes)


def _children(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield from value.values()
    elif isinstance(value, list):
        yield from value
    elif isinstance(value, str):
        yield from value.encode()


def _basic(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "invalid"


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=~":
        if not isinstance(left, str) or not isinstance(right, str):
            raise JSONPathError(
                "regexp search only support string now but getting pattern: "
                f"{_go_value(right)}, data: {_go_value(left)}"
            )
        return re.search(right, left) is not None
    lk, rk = _basic(left), _basic(right)
    if op in ("==", "!="):
        if lk == "invalid" or rk == "invalid":
            if left is None or right is None:
                equal = left is right
                return equal if op == "==" else not equal
            raise JSONPathError("invalid type for comparison")
        if lk != rk:
            raise JSONPathError("incompatible types for comparison")
        equal = left == right
        return equal if op == "==" else not equal
    if op not in ("<", ">", "<=", ">="):
        raise JSONPathError(f"unrecognized filter operator {op}")
    if lk in ("invalid", "bool") or rk in ("invalid", "bool"):
        raise JSONPathError("invalid type for comparison")
    if lk != rk:
        raise JSONPathError("incompatible types for comparison")
    result: bool = {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    return result


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed_expression(expr: str) -> str:
    """``RelaxedJSONPathExpression``: ``a.b``, ``.a.b``, ``{a.b}`` -> ``{.a.b}``.

    Raises:
        JSONPathError: the expression is not one of those forms.
    """
    if not expr:
        return expr
    m = _RELAXED.match(expr)
    if m is None:
        raise JSONPathError(
            "unexpected path string, expected a 'name1.name2' or '.name1.name2' or "
            "'{name1.name2}' or '{.name1.name2}'"
        )
    return "{." + (m.group(1) or m.group(2)) + "}"
