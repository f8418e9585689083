"""``Accept`` header parsing for discovery and OpenAPI negotiation.

Clauses are ordered as the Go ``goautoneg`` package orders them, which is what
kube-apiserver and kube-openapi negotiate with: by quality (highest first), then concrete
types before ``*`` wildcards, then more parameters first; equal clauses keep header order.
An empty header means ``*/*``. Clauses with ``q=0`` are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MediaRange", "parse_accept"]


@dataclass(frozen=True)
class MediaRange:
    """One clause of an ``Accept`` header (``application/json;g=...;v=v2;as=...``)."""

    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    q: float = 1.0

    def matches(self, type_: str, subtype: str) -> bool:
        """Whether this clause accepts ``type_/subtype`` (wildcards allowed in the clause)."""
        return self.type in (type_, "*") and self.subtype in (subtype, "*")


def _sort_key(item: tuple[int, MediaRange]) -> tuple[float, int, int, int, int]:
    index, clause = item
    return (-clause.q, clause.type == "*", clause.subtype == "*", -len(clause.params), index)


def parse_accept(header: str) -> list[MediaRange]:
    """Parse an ``Accept`` header into clauses in preference order."""
    if not header.strip():
        header = "*/*"
    clauses: list[tuple[int, MediaRange]] = []
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        full = pieces[0].lower()
        if not full:
            continue
        if full == "*":
            full = "*/*"
        type_, _, subtype = full.partition("/")
        if not subtype:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for piece in pieces[1:]:
            key, eq, value = piece.partition("=")
            key = key.strip().lower()
            value = value.strip().strip('"')
            if not eq or not key:
                continue
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            else:
                params[key] = value
        if q <= 0:
            continue
        clauses.append((index, MediaRange(type_, subtype, params, q)))
    clauses.sort(key=_sort_key)
    return [c for _, c in clauses]
