"""JSON value helpers shared by the patch modules: strict equality and type kinds.

JSON has one number type, so ``1 == 1.0``; but ``true`` is not ``1`` (Python's ``==`` says it
is). ``json_equal`` and ``json_kind`` follow JSON, not Python.
"""

from __future__ import annotations

from typing import Any


def json_kind(value: Any) -> str:
    """One of ``null bool number string array object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def json_equal(a: Any, b: Any) -> bool:
    """Deep equality with JSON's types (``true != 1``, ``1 == 1.0``)."""
    kind = json_kind(a)
    if kind != json_kind(b):
        return False
    if kind == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if kind == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def deep_copy(value: Any) -> Any:
    """A copy of a JSON value (faster than ``copy.deepcopy`` for plain JSON)."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def go_format(value: Any) -> str:
    """A value as Go's ``%v`` prints decoded JSON (``map[a:1]``, ``[x y]``), for messages."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    return str(value)
