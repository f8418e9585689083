"""``-o custom-columns=HEADER:path,...``: one row per object, values found by JSONPath.

Each path is relaxed as kubectl relaxes it (``metadata.name``, ``.metadata.name`` and
``{.metadata.name}`` are the same); missing values print ``<none>``; several results are
joined with commas; maps and lists print as Go's ``%v``.
"""

from __future__ import annotations

from typing import Any

from ..errors import CommandError
from .goformat import go_value
from .tabwriter import format_rows

__all__ = ["custom_columns", "parse_spec"]


def parse_spec(spec: str) -> list[tuple[str, str]]:
    from ...api.jsonpath import JSONPathError, relaxed_expression

    out: list[tuple[str, str]] = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep or not header:
            raise CommandError(
                f'error: unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>')
        try:
            out.append((header, relaxed_expression(path)))
        except JSONPathError as exc:
            raise CommandError(f"error: {exc}") from exc
    return out


def _cell(values: list[Any]) -> str:
    if not values:
        return "<none>"
    return ",".join(go_value(v) if not isinstance(v, str) else v for v in values)


def custom_columns(spec: str, objs: list[dict[str, Any]], *, no_headers: bool = False) -> str:
    from ...api.jsonpath import JSONPath, JSONPathError
    from .yamlfmt import normalize_numbers

    columns = parse_spec(spec)
    parsers = []
    for _, path in columns:
        try:
            parsers.append(JSONPath(path, allow_missing_keys=True))
        except JSONPathError as exc:
            raise CommandError(f"error: {exc}") from exc
    rows: list[list[str]] = [] if no_headers else [[h for h, _ in columns]]
    for obj in objs:
        data = normalize_numbers(obj)
        row = []
        for jp in parsers:
            try:
                results = jp.find_results(data)
            except JSONPathError as exc:
                raise CommandError(f"error: {exc}") from exc
            flat = [v for group in results for v in group]
            row.append(_cell(flat))
        rows.append(row)
    return format_rows(rows)
