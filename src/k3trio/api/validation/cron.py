"""Cron schedule syntax check with the error texts of the standard five-field parser upstream
uses (robfig/cron v3 with descriptors): ``expected exactly 5 fields, found 1: [foo]``, range
and step errors, and ``@every``/``@hourly``-style descriptors.
"""

from __future__ import annotations

_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = ((0, 59, {}), (0, 23, {}), (1, 31, {}),
           (1, 12, {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}),
           (0, 6, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}))
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _go_duration_ok(text: str) -> bool:
    import re

    return bool(re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", text))


def _number(expr: str, names: dict[str, int]) -> tuple[int | None, str | None]:
    if expr.lower() in names:
        return names[expr.lower()], None
    if not expr.isdigit():
        return None, f"failed to parse int from {expr}: strconv.Atoi: parsing {expr!r}: invalid syntax".replace("'", '"')
    return int(expr), None


def _field(field: str, lo: int, hi: int, names: dict[str, int]) -> str | None:
    for expr in field.split(","):
        range_and_step = expr.split("/")
        low_and_high = range_and_step[0].split("-")
        single_digit = len(low_and_high) == 1
        start: int | None
        end: int | None
        if low_and_high[0] in ("*", "?"):
            start, end = lo, hi
        else:
            start, err = _number(low_and_high[0], names)
            if err:
                return err
            if len(low_and_high) == 1:
                end = start
            elif len(low_and_high) == 2:
                end, err = _number(low_and_high[1], names)
                if err:
                    return err
            else:
                return f"too many hyphens: {expr}"
        if len(range_and_step) == 2:
            step, err = _number(range_and_step[1], {})
            if err:
                return err
            if single_digit:
                end = hi
            if step == 0:
                return f"step of range should be a positive number: {expr}"
        elif len(range_and_step) > 2:
            return f"too many slashes: {expr}"
        assert start is not None and end is not None
        if start < lo:
            return f"beginning of range ({start}) below minimum ({lo}): {expr}"
        if end > hi:
            return f"end of range ({end}) above maximum ({hi}): {expr}"
        if start > end:
            return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    return None


def parse_schedule(spec: str) -> str | None:
    """None when ``spec`` is a valid schedule, else the parser's error text."""
    if not spec:
        return "empty spec string"
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            dur = spec[len("@every "):]
            if _go_duration_ok(dur):
                return None
            return f"failed to parse duration {spec}: time: invalid duration \"{dur}\""
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for field, (lo, hi, names) in zip(fields, _BOUNDS):
        err = _field(field, lo, hi, names)
        if err:
            return err
    return None
