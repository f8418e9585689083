"""Human-readable ages as ``kubectl get`` prints them (``duration.HumanDuration`` upstream).

The ranges, from the upstream rules: under 2 minutes in seconds (``0s``..``119s``); under 10
minutes as ``3m20s`` (``5m`` when whole); under 3 hours in minutes; under 8 hours as ``5h3m``;
under 2 days in hours; under 8 days as ``3d5h``; under 2 years in days; under 8 years as
``2y45d``; beyond in years. A timestamp up to one second in the future reads ``0s`` (clock
skew); further in the future reads ``<invalid>``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from k3trio.api.meta import parse_time

__all__ = ["human_duration", "short_human_duration", "since", "translate_timestamp_since"]


def human_duration(d: timedelta) -> str:
    """``duration.HumanDuration``."""
    total = d.total_seconds()
    seconds = int(total)  # truncates toward zero, as Go's int(d.Seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(d: timedelta) -> str:
    """``duration.ShortHumanDuration``: one unit only."""
    seconds = int(d.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def since(timestamp: str, now: datetime) -> timedelta:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now - parse_time(timestamp)


def translate_timestamp_since(timestamp: str | None, now: datetime) -> str:
    """Age of an RFC 3339 timestamp at ``now``; ``<unknown>`` when unset or unparsable."""
    if not timestamp:
        return "<unknown>"
    try:
        return human_duration(since(timestamp, now))
    except ValueError:
        return "<unknown>"
