"""kubectl's describe layout: lines written at indentation levels with ``\\t`` between label
and value, aligned by one Go tabwriter (min width 0, padding 2) over the whole output, so
consecutive labelled lines line up and an unlabelled line ends the alignment block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..printers.tabwriter import format_rows

__all__ = ["Writer", "age", "describe_time"]

MAX_ANNOTATION_LEN = 140
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, level: int, text: str) -> None:
        """Write ``text`` (may hold several lines and tabs) indented by ``level``*2 spaces."""
        prefix = "  " * level
        for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
            self.lines.append(prefix + line)

    def line(self, level: int, *cells: Any) -> None:
        self.write(level, "\t".join(str(c) for c in cells) + "\n")

    def blank(self) -> None:
        self.lines.append("")

    def render(self) -> str:
        rows = [ln.split("\t") for ln in self.lines]
        return format_rows(rows, minwidth=0, padding=2)

    # -- helpers shared by every describer --------------------------------------------

    def string_map(self, level: int, title: str, values: Mapping[str, str] | None,
                   skip: tuple[str, ...] = ()) -> None:
        """``Labels:\\tk=v`` with further pairs on indented continuation lines."""
        items = sorted((k, v) for k, v in (values or {}).items() if k not in skip)
        if not items:
            self.line(level, f"{title}:", "<none>")
            return
        first = True
        for k, v in items:
            if first:
                self.line(level, f"{title}:", f"{k}={v}")
                first = False
            else:
                self.line(level, "", f"{k}={v}")

    def annotations(self, level: int, values: Mapping[str, str] | None,
                    skip: tuple[str, ...] = ()) -> None:
        skip = skip + (LAST_APPLIED,)
        items = sorted((k, v) for k, v in (values or {}).items() if k not in skip)
        if not items:
            self.line(level, "Annotations:", "<none>")
            return
        first = True
        for k, v in items:
            label = "Annotations:" if first else ""
            first = False
            v = v[:-1] if v.endswith("\n") else v
            if len(v) + len(k) + 2 > MAX_ANNOTATION_LEN or "\n" in v:
                self.line(level, label, f"{k}:")
                for part in v.split("\n"):
                    limit = MAX_ANNOTATION_LEN - 2
                    self.line(level, "", "  " + (part[:limit] + "..." if len(part) > limit
                                                 else part))
            else:
                self.line(level, label, f"{k}: {v}")

    def string_list(self, level: int, title: str, values: list[str] | None) -> None:
        if not values:
            self.line(level, f"{title}:", "<none>")
            return
        self.line(level, f"{title}:", values[0])
        for v in values[1:]:
            self.line(level, "", v)


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def describe_time(value: str | None) -> str:
    """RFC 1123 with numeric zone, as kubectl prints timestamps (``Mon, 02 Jan 2006 ...``)."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return t.strftime("%a, %d %b %Y %H:%M:%S %z")


def human_duration(seconds: float) -> str:
    """``HumanDuration`` from apimachinery (``5s``, ``3m10s``, ``2d5h``, ``3y``)."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rem = s % 60
        return f"{minutes}m{rem}s" if rem else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rem = minutes % 60
        return f"{hours}h{rem}m" if rem else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rem = hours % 24
        return f"{hours // 24}d{rem}h" if rem else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        rem = days % 365
        return f"{days // 365}y{rem}d" if rem else f"{days // 365}y"
    return f"{hours // 24 // 365}y"


def age(value: str | None) -> str:
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration((dt.datetime.now(dt.timezone.utc) - t).total_seconds())
