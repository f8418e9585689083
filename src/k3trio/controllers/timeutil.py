"""Times as the API writes them (RFC 3339, UTC, second precision) and the wall clock the
controllers of this package read (injectable: tests pass their own ``now``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import trio

__all__ = ["format_time", "mock_wall_clock", "parse_time", "seconds_since", "wall_now"]


def wall_now() -> datetime:
    return datetime.now(UTC)


def format_time(dt: datetime) -> str:
    """``2026-01-02T03:04:05Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """An aware datetime of an RFC 3339 value; None for missing or malformed values."""
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def seconds_since(value: object, now: datetime) -> float | None:
    dt = parse_time(value)
    return None if dt is None else (now - dt).total_seconds()


def mock_wall_clock(start: datetime) -> Callable[[], datetime]:
    """A wall clock that moves with ``trio.current_time`` (so ``MockClock`` drives it)."""
    origin = trio.current_time()
    return lambda: start + timedelta(seconds=trio.current_time() - origin)
