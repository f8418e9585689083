"""The types whose protobuf and JSON shapes differ: times, durations, quantities, int-or-string.

    metav1.Time         {1: seconds int64, 2: nanos int32}  <-> "2026-11-24T21:00:00Z"
    metav1.MicroTime    same                                 <-> "2026-11-24T21:00:00.000000Z"
    metav1.Duration     {1: nanoseconds int64}               <-> Go duration text "1h0m0s"
    resource.Quantity   {1: string}                          <-> "100m"
    intstr.IntOrString  {1: type (0 int, 1 string), 2: intVal, 3: strVal} <-> 8080 | "http"

Invariants (as apimachinery's marshalling):
- An empty Time/MicroTime message is the zero time, which JSON leaves out (``None`` here);
  encoding always writes both Timestamp fields. Time keeps whole seconds only, MicroTime keeps
  microseconds, both are printed in UTC.
- Durations print exactly as Go's ``time.Duration.String`` and parse Go's unit grammar.
- Helpers raise :class:`ProtobufError` for values of the wrong shape.
"""

from __future__ import annotations

import calendar
import datetime
import re

from ..quantity import QuantityError, quantity_from_json
from .wire import ProtobufError

__all__ = [
    "format_time",
    "parse_time",
    "format_duration",
    "parse_duration",
    "quantity_text",
]

_EPOCH = datetime.datetime(1970, 1, 1)
_ZERO_TIME_SECONDS = -62135596800  # Go's time.Time{} as Unix seconds
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def format_time(seconds: int, nanos: int, *, micro: bool) -> str | None:
    """RFC 3339 text of a Timestamp, ``None`` for Go's zero time."""
    if seconds == _ZERO_TIME_SECONDS and nanos == 0:
        return None
    try:
        moment = _EPOCH + datetime.timedelta(seconds=seconds)
    except OverflowError:
        raise ProtobufError(f"timestamp {seconds} is out of range") from None
    if not 1 <= moment.year <= 9999:
        raise ProtobufError(f"timestamp {seconds} is out of range")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if micro:
        text += f".{max(nanos, 0) // 1000:06d}"
    return text + "Z"


def parse_time(text: object) -> tuple[int, int]:
    """``(seconds, nanos)`` of an RFC 3339 time. Raises ProtobufError."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ProtobufError(f"cannot encode {text!r} as a time: expected RFC 3339 text")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, _, sign, off_h, off_m = match.groups()[6:]
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
        datetime.date(year, month, day)
    except ValueError as exc:
        raise ProtobufError(f"cannot encode {text!r} as a time: {exc}") from None
    if sign:
        offset = int(off_h) * 3600 + int(off_m) * 60
        seconds -= offset if sign == "+" else -offset
    nanos = int((fraction or "").ljust(9, "0")[:9])
    return seconds, nanos


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")


def _decimal(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    if not frac:
        return str(whole)
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


def format_duration(nanos: int) -> str:
    """Go's ``time.Duration.String``: ``1h0m0s``, ``1m30s``, ``1.5s``, ``300ms``, ``0s``."""
    if nanos == 0:
        return "0s"
    size = abs(nanos)
    if size < 1_000:
        text = f"{size}ns"
    elif size < 1_000_000:
        text = _decimal(size, 3) + "µs"
    elif size < 10**9:
        text = _decimal(size, 6) + "ms"
    else:
        seconds, frac = divmod(size, 10**9)
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        text = _decimal(secs * 10**9 + frac, 9) + "s"
        if hours:
            text = f"{hours}h{minutes}m{text}"
        elif minutes:
            text = f"{minutes}m{text}"
    return "-" + text if nanos < 0 else text


def parse_duration(text: object) -> int:
    """Nanoseconds of a Go duration (``time.ParseDuration``). Raises ProtobufError."""
    if not isinstance(text, str) or not text:
        raise ProtobufError(f"cannot encode {text!r} as a duration")
    body = text
    negative = body[0] == "-"
    if body[0] in "+-":
        body = body[1:]
    if body == "0":
        return 0
    total = 0
    pos = 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None or not (match.group(1) or match.group(2)):
            raise ProtobufError(f'time: invalid duration "{text}"')
        whole, frac, unit = match.groups()
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        pos = match.end()
    if not body:
        raise ProtobufError(f'time: invalid duration "{text}"')
    return -total if negative else total


def quantity_text(value: object) -> str:
    """The protobuf string of a JSON quantity (a string is kept as written)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, bool):
        raise ProtobufError(f"cannot encode {value!r} as a quantity")
    try:
        return str(quantity_from_json(value))
    except QuantityError as exc:
        raise ProtobufError(f"cannot encode {value!r} as a quantity: {exc}") from None
