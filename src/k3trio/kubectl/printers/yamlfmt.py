"""YAML and JSON text exactly as kubectl prints objects.

kubectl renders an object as JSON, re-reads it as YAML and marshals it with go-yaml v2
(``sigs.k8s.io/yaml``). The visible consequences, reproduced here on top of PyYAML's emitter
(libyaml's algorithm, as go-yaml's):

- block style, two-space indentation, sequences inside mappings not indented;
- map keys sorted by go-yaml's natural order (letters after other characters, digit runs
  compared as numbers), see ``go_yaml_key``;
- strings that would read back as another type (``"true"``, ``"123"``, ``"1e3"``,
  ``"2001-12-14"``, ``""``, ``"~"``, ``"null"``, ``"1:20"``) are double-quoted; strings with
  a newline use literal style (``|``/``|-``) when allowed; other strings are plain when the
  emitter allows it, else single-quoted; lines are folded at 80 columns;
- numbers as Go's JSON turns them: integral floats print as integers.

JSON (``go_json_indent``) is Go's ``json.MarshalIndent`` with four spaces: keys sorted,
``<``, ``>``, ``&``, U+2028 and U+2029 escaped, other non-ASCII kept.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

import yaml

__all__ = ["dump_yaml", "go_json_indent", "go_json_compact", "go_yaml_key", "normalize_numbers"]

_Dumper: Any = getattr(yaml, "CDumper", yaml.Dumper)

_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
    "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
}
_SPECIAL_FLOATS = {
    ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    ".nan", ".NaN", ".NAN",
}
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_GO_INT = re.compile(
    r"^[-+]?(0[xX]_?[0-9a-fA-F](_?[0-9a-fA-F])*|0[oO]_?[0-7](_?[0-7])*|0[bB]_?[01](_?[01])*"
    r"|0(_?[0-7])*|[1-9](_?[0-9])*)$"
)
_TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$"
)


def _resolves_non_string(s: str) -> bool:
    """Whether go-yaml v2 would read the plain scalar ``s`` as something else than a string."""
    if s in _NULLS or s in _BOOLS or s in _SPECIAL_FLOATS or s == "<<":
        return True
    c = s[0]
    if c in "-+.0123456789":
        if _GO_INT.match(s) or _FLOAT.match(s) or _BASE60.match(s):
            return True
        if c.isdigit() and _TIMESTAMP.match(s):
            return True
    return False


def go_yaml_key(a: str, b: str) -> int:
    """go-yaml's map key order as a ``cmp`` function."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return -1 if ca < cb else 1
        if al or bl:
            return 1 if al else -1
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return -1 if an < bn else 1
        if ai != bi:
            return -1 if ai < bi else 1
        return -1 if ca < cb else 1
    return (len(a) > len(b)) - (len(a) < len(b))


_key = functools.cmp_to_key(go_yaml_key)


def _float_text(f: float) -> str:
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    if math.isnan(f):
        return ".nan"
    return repr(f)


class _GoDumper(_Dumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


_STR = "tag:yaml.org,2002:str"


def _scalar(dumper: Any, text: str, style: str | None = None) -> Any:
    return dumper.represent_scalar(_STR, text, style=style)


def _repr_str(dumper: Any, s: str) -> Any:
    if "\n" in s:
        return _scalar(dumper, s, "|")
    if _resolves_non_string(s):
        return _scalar(dumper, s, '"')
    return _scalar(dumper, s)


def _repr_dict(dumper: Any, d: dict[Any, Any]) -> Any:
    items = sorted(((str(k), v) for k, v in d.items()), key=lambda kv: _key(kv[0]))
    return dumper.represent_mapping("tag:yaml.org,2002:map", items)


def _repr_float(dumper: Any, f: float) -> Any:
    if f.is_integer() and abs(f) < 1e21:
        return _scalar(dumper, str(int(f)))
    return _scalar(dumper, _float_text(f))


_GoDumper.add_representer(str, _repr_str)
_GoDumper.add_representer(dict, _repr_dict)
_GoDumper.add_representer(bool, lambda d, b: _scalar(d, "true" if b else "false"))
_GoDumper.add_representer(int, lambda d, i: _scalar(d, str(i)))
_GoDumper.add_representer(float, _repr_float)
_GoDumper.add_representer(type(None), lambda d, _: _scalar(d, "null"))
_GoDumper.add_representer(
    list, lambda d, seq: d.represent_sequence("tag:yaml.org,2002:seq", seq))
# Every scalar is tagged str above; make the serializer treat that as implicit so nothing
# carries an explicit tag, and let the style chosen per value decide the quoting.
_GoDumper.yaml_implicit_resolvers = {}


def dump_yaml(obj: Any) -> str:
    """One document as kubectl prints it (no leading ``---``)."""
    if obj == {}:
        return "{}\n"
    if obj == []:
        return "[]\n"
    text: str = yaml.dump(
        obj, Dumper=_GoDumper, default_flow_style=False, allow_unicode=True, width=80,
        indent=2, sort_keys=False,
    )
    return text


def normalize_numbers(value: Any) -> Any:
    """Integral floats as ints, as Go's JSON re-encoding prints them."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        return value
    if isinstance(value, dict):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(v) for v in value]
    return value


_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                       "\u2028": "\\u2028", "\u2029": "\\u2029"})


def go_json_indent(obj: Any, indent: int = 4, sort_keys: bool = True) -> str:
    """``json.MarshalIndent(obj, "", "    ")`` plus the newline kubectl adds."""
    text = json.dumps(normalize_numbers(obj), indent=indent, sort_keys=sort_keys,
                      ensure_ascii=False)
    return text.translate(_HTML) + "\n"


def go_json_compact(obj: Any) -> str:
    text = json.dumps(normalize_numbers(obj), separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False)
    return text.translate(_HTML)
