"""Cron schedule parsing and next-time arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k3trio.controllers.cron import CronError, parse, parse_go_duration

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize(("spec", "after", "want"), [
    ("* * * * *", T0, datetime(2026, 11, 21, 12, 1, tzinfo=UTC)),
    ("*/15 9-17 * * MON-FRI", T0, datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
    ("0 0 1 * *", T0, datetime(2026, 12, 1, tzinfo=UTC)),
    ("@hourly", T0, datetime(2026, 11, 21, 13, 0, tzinfo=UTC)),
    ("@daily", T0, datetime(2026, 11, 22, tzinfo=UTC)),
    ("@weekly", T0, datetime(2026, 11, 22, tzinfo=UTC)),
    ("@yearly", T0, datetime(2027, 1, 1, tzinfo=UTC)),
    ("@every 90s", T0, datetime(2026, 11, 21, 12, 1, 30, tzinfo=UTC)),
    ("5 4 * * sun", T0, datetime(2026, 11, 22, 4, 5, tzinfo=UTC)),
    # day-of-month and day-of-week both restricted: either matches
    ("0 0 1 * MON", T0, datetime(2026, 11, 23, tzinfo=UTC)),
    ("0 0 */10 * *", T0, datetime(2026, 11, 21, tzinfo=UTC).replace(day=21)),
    ("0 12 29 2 *", T0, datetime(2028, 2, 29, 12, tzinfo=UTC)),
])
def test_next(spec: str, after: datetime, want: datetime) -> None:
    got = parse(spec).next(after)
    if spec == "0 0 */10 * *":
        want = datetime(2026, 12, 1, tzinfo=UTC)  # days 1, 11, 21, 31
    assert got == want


def test_time_zones() -> None:
    ny = parse("0 2 * * *", "America/New_York")
    assert ny.next(datetime(2026, 1, 10, tzinfo=UTC)) == datetime(2026, 1, 10, 7, tzinfo=UTC)
    # 02:00 does not exist on 2026-03-08 in New York: skipped
    assert ny.next(datetime(2026, 3, 7, 12, tzinfo=UTC)) == datetime(2026, 3, 9, 6, tzinfo=UTC)
    assert parse("CRON_TZ=Asia/Tokyo 0 9 * * *").next(T0) == datetime(2026, 11, 22, 0, tzinfo=UTC)
    assert parse("TZ=UTC 0 9 * * *").next(T0) == datetime(2026, 11, 22, 9, tzinfo=UTC)
    with pytest.raises(CronError, match="unknown time zone"):
        parse("* * * * *", "Mars/Olympus")


@pytest.mark.parametrize("spec", [
    "", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 7",
    "*/0 * * * *", "5-1 * * * *", "@fortnightly", "@every", "@every 5x", "a * * * *",
])
def test_invalid(spec: str) -> None:
    with pytest.raises(CronError):
        parse(spec)


def test_never() -> None:
    assert parse("0 0 30 2 *").next(T0) is None


def test_go_durations() -> None:
    assert parse_go_duration("1h30m") == 5400
    assert parse_go_duration("1.5s") == 1.5


@settings(max_examples=60, deadline=None)
@given(minute=st.integers(0, 59), hour=st.integers(0, 23),
       offset=st.integers(0, 400 * 24 * 60))
def test_next_is_first_match(minute: int, hour: int, offset: int) -> None:
    sched = parse(f"{minute} {hour} * * *")
    after = datetime(2026, 1, 1, tzinfo=UTC).fromtimestamp(
        datetime(2026, 1, 1, tzinfo=UTC).timestamp() + offset * 60, UTC)
    got = sched.next(after)
    assert got is not None and got > after
    assert (got.minute, got.hour) == (minute, hour)
    assert (got - after).total_seconds() <= 24 * 3600
