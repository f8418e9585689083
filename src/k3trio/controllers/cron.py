"""Cron schedules as CronJobs use them: parsing and "next time" arithmetic. Pure.

Syntax (the standard five-field form of robfig/cron v3, which kube-controller-manager uses):

    minute hour day-of-month month day-of-week

- each field is a comma list of ``*``/``?``, ``N``, ``A-B``, each optionally ``/STEP``
  (``N/STEP`` means ``N-max/STEP``); months and weekdays accept ``JAN``..``DEC`` and
  ``SUN``..``SAT`` (case-insensitive); weekdays are 0-6 with 0 = Sunday;
- descriptors ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``,
  ``@hourly`` and ``@every <duration>`` (Go duration, e.g. ``1h30m``);
- a ``CRON_TZ=<zone>`` or ``TZ=<zone>`` prefix selects the zone (the API rejects it in
  ``spec.schedule``; ``spec.timeZone`` is the supported way, passed to ``parse`` as ``tz``).

Day matching follows cron: when both day-of-month and day-of-week are restricted (neither
starts with ``*``/``?``) a day matches if either does; otherwise both must.

Invariants: ``Schedule.next(t)`` is the first activation strictly after ``t`` (second
precision, seconds of ``t`` dropped), evaluated on the wall clock of the schedule's zone;
wall-clock times that do not exist (a DST gap) are skipped; the search gives up after five
years and returns None (a schedule like ``0 0 30 2 *`` never fires).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

__all__ = ["CronError", "Schedule", "load_zone", "parse"]


class CronError(ValueError):
    """An unparsable schedule or unknown time zone."""


_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_NO_NAMES: dict[str, int] = {}
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, _NO_NAMES), (0, 23, _NO_NAMES), (1, 31, _NO_NAMES), (1, 12, _MONTHS), (0, 6, _DAYS))
_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_HORIZON_YEARS = 5


def load_zone(name: str | None) -> tzinfo:
    """The zone for a ``timeZone`` value (None/"" and ``UTC`` give UTC, ``Local`` too).

    Raises:
        CronError: unknown zone.
    """
    if not name or name in ("UTC", "Local"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"unknown time zone {name}") from exc


def parse_go_duration(text: str) -> float:
    """Seconds of a Go duration string such as ``1h30m`` or ``90s``.

    Raises:
        CronError: not a duration.
    """
    if not text:
        raise CronError("empty duration")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise CronError(f"time: invalid duration {text!r}")
    return total


def _value(text: str, names: dict[str, int], field: str) -> int:
    low = text.lower()
    if low in names:
        return names[low]
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text}: invalid {field}")
    return int(text)


def _field(expr: str, index: int) -> tuple[frozenset[int], bool]:
    """The values a field allows and whether it started with ``*``/``?``."""
    lo, hi, names = _BOUNDS[index]
    field = _FIELD_NAMES[index]
    values: set[int] = set()
    star = False
    for part in expr.split(","):
        rng, _, step_text = part.partition("/")
        if rng in ("*", "?"):
            start, end = lo, hi
            star = star or not step_text or step_text == "1"
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = _value(a, names, field), _value(b, names, field)
        else:
            start = _value(rng, names, field)
            end = hi if step_text else start
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"step of range should be a positive number: {part}")
            step = int(step_text)
        else:
            step = 1
        if start < lo or end > hi:
            raise CronError(f"end of range ({end}) above maximum ({hi}): {part}" if end > hi
                            else f"beginning of range ({start}) below minimum ({lo}): {part}")
        if start > end:
            raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        values.update(range(start, end + 1, step))
    return frozenset(values), star


@attrs.frozen
class Schedule:
    """A parsed schedule; ``every`` (seconds) is set for ``@every`` schedules."""

    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    dom: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    dow: frozenset[int] = frozenset()
    dom_star: bool = True
    dow_star: bool = True
    zone: tzinfo = UTC
    every: float | None = None

    def _day_matches(self, d: datetime) -> bool:
        dom_ok = d.day in self.dom
        dow_ok = (d.isoweekday() % 7) in self.dow
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    def next(self, after: datetime) -> datetime | None:
        """The first activation strictly after ``after`` (an aware datetime), in UTC."""
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        if self.every is not None:
            step = max(1.0, float(int(self.every)))
            base = after.replace(microsecond=0)
            return (base + timedelta(seconds=step)).astimezone(UTC)
        local = after.astimezone(self.zone).replace(second=0, microsecond=0, tzinfo=None)
        t = local + timedelta(minutes=1)
        limit = t.year + _HORIZON_YEARS
        while t.year <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            aware = _localize(t, self.zone)
            if aware is not None and aware > after:
                return aware.astimezone(UTC)
            t += timedelta(minutes=1)
        return None


def _localize(wall: datetime, zone: tzinfo) -> datetime | None:
    """The aware time for a wall-clock time in ``zone``; None inside a DST gap."""
    aware = wall.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return aware if back == wall else None


def parse(spec: str, tz: str | None = None) -> Schedule:
    """Parse a schedule (``tz``: the CronJob's ``spec.timeZone``).

    Raises:
        CronError: the schedule or zone is invalid (message as upstream's parser's).
    """
    text = spec.strip()
    zone = load_zone(tz)
    if text.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, text = text.partition(" ")
        zone = load_zone(prefix.split("=", 1)[1])
        text = text.strip()
    if not text:
        raise CronError("empty spec string")
    if text.startswith("@"):
        if text.startswith("@every "):
            seconds = parse_go_duration(text[len("@every "):].strip())
            return Schedule(zone=zone, every=seconds)
        if text not in _DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {text}")
        text = _DESCRIPTORS[text]
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    parsed = [_field(f, i) for i, f in enumerate(fields)]
    return Schedule(
        minutes=parsed[0][0], hours=parsed[1][0], dom=parsed[2][0], months=parsed[3][0],
        dow=parsed[4][0], dom_star=parsed[2][1], dow_star=parsed[4][1], zone=zone,
    )
