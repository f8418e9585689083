"""What every write carries: who asks, dry-run, field manager, and the shared plug-ins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..interfaces import ANONYMOUS, FieldManager, MutatingAdmission, UserInfo, ValidatingAdmission

__all__ = ["RequestContext", "Plugins"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RequestContext:
    """Per-request options of a write (query parameters and identity)."""

    user: UserInfo = ANONYMOUS
    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"
    #: Warnings to return in ``Warning`` headers.
    warnings: list[str] = field(default_factory=list)
    #: A server-side apply: the object already carries the Apply entry in managedFields,
    #: so the write records no Update for this manager (as upstream's apply patcher).
    apply: bool = False


@dataclass
class Plugins:
    """The server-wide pieces storage calls around defaults and validation."""

    mutating: Sequence[MutatingAdmission] = ()
    validating: Sequence[ValidatingAdmission] = ()
    field_manager: FieldManager | None = None
    #: ``ServiceAllocator``-like object (``allocate(service, old)``, ``release(service)``).
    service_allocator: Any = None
    now: Callable[[], datetime] = _utcnow
