"""``--sort-by``: order objects by the value a JSONPath expression finds in them.

Numbers compare numerically, strings in natural order (digit runs as numbers), as kubectl's
sorter does; an object without the field sorts first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import CommandError

__all__ = ["natural_key", "sort_key_for"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[Any, ...]:
    parts = _DIGITS.split(text)
    return tuple((0, int(p), len(p)) if i % 2 else (1, p, 0) for i, p in enumerate(parts))


def sort_key_for(expr: str) -> Callable[[dict[str, Any]], Any]:
    from ..api.jsonpath import JSONPath, JSONPathError, relaxed_expression

    try:
        jp = JSONPath(relaxed_expression(expr), allow_missing_keys=True)
    except JSONPathError as exc:
        raise CommandError(f"error: {exc}") from exc

    def key(obj: dict[str, Any]) -> Any:
        try:
            results = jp.find_results(obj)
        except JSONPathError:
            return (0,)
        flat = [v for r in results for v in r]
        if not flat:
            return (0,)
        v = flat[0]
        if isinstance(v, bool):
            return (1, int(v))
        if isinstance(v, (int, float)):
            return (1, v)
        if isinstance(v, str):
            return (2, natural_key(v))
        return (3, str(v))

    return key
