"""Shared pieces of the Table printers: column definitions and cell formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from k3trio.api.tables._descriptions import DESCRIPTIONS
from k3trio.api.tables.duration import translate_timestamp_since

Obj = dict[str, Any]
Cells = list[Any]
# A row function: (object, now) -> (cells, row conditions or None)
RowFn = Callable[[Obj, datetime], "tuple[Cells, list[dict[str, str]] | None]"]


@dataclass(frozen=True)
class Printer:
    columns: tuple[dict[str, Any], ...]
    row: RowFn


def doc(definition: str, prop: str) -> str:
    """The OpenAPI description of ``definition.prop`` (``core.v1.PodSpec``, ``nodeName``)."""
    return DESCRIPTIONS.get(f"{definition}.{prop}", "")


def col(name: str, type_: str = "string", description: str = "", *, fmt: str = "", priority: int = 0) -> dict[str, Any]:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


NAME_COL = col("Name", "string", doc("meta.v1.ObjectMeta", "name"), fmt="name")
AGE_COL = col("Age", "string", doc("meta.v1.ObjectMeta", "creationTimestamp"))
CONTAINERS_COL = col("Containers", "string", "Names of each container in the template.", priority=1)
IMAGES_COL = col("Images", "string", "Images referenced by each container in the template.", priority=1)


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """Nested lookup through dicts and lists tolerating absent or null steps."""
    cur = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return default
            cur = cur[step]
        else:
            if not isinstance(cur, dict):
                return default
            cur = cur.get(step)
        if cur is None:
            return default
    return cur


def name_of(obj: Obj) -> str:
    return str(get(obj, "metadata", "name", default=""))


def age(obj: Obj, now: datetime) -> str:
    return translate_timestamp_since(get(obj, "metadata", "creationTimestamp"), now)


def format_labels(values: dict[str, str] | None) -> str:
    """``labels.FormatLabels``: sorted ``k=v`` pairs, ``<none>`` when empty."""
    if not values:
        return "<none>"
    return ",".join(f"{k}={values[k]}" for k in sorted(values))


def selector_string(selector: Obj | None) -> str | None:
    """``LabelSelectorAsSelector(sel).String()``; None when the selector is malformed."""
    if selector is None:
        return ""
    reqs: list[tuple[str, str]] = []
    for k, v in (selector.get("matchLabels") or {}).items():
        reqs.append((k, f"{k}={v}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator")
        values = sorted(set(expr.get("values") or []))
        if op == "In":
            reqs.append((key, f"{key} in ({','.join(values)})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({','.join(values)})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            return None
    reqs.sort(key=lambda r: r[0])
    return ",".join(r[1] for r in reqs)


def format_label_selector(selector: Obj | None) -> str:
    """``metav1.FormatLabelSelector``: ``<none>`` when it selects nothing or everything."""
    s = selector_string(selector)
    if s is None:
        return "<error>"
    return s or "<none>"


def layout_containers(containers: Iterable[Obj] | None) -> tuple[str, str]:
    cs = list(containers or [])
    return ",".join(str(c.get("name", "")) for c in cs), ",".join(str(c.get("image", "")) for c in cs)


def list_with_more(items: list[str], more: bool, count: int, limit: int) -> str:
    ret = ",".join(items)
    if more:
        return f"{ret} + {count - limit} more..."
    return ret or "<unset>"


def int_or_string(value: Any) -> str:
    return str(value)


def bool_ptr(value: Any) -> str:
    if value is None:
        return "<unset>"
    return "True" if value else "False"
