"""Command-line flags parsed as kubectl's (cobra/pflag) parser does.

Flags and arguments may be interleaved; ``--`` ends the flags; ``--name=value``,
``--name value``, ``-n value``, ``-nvalue``, ``-n=value`` and combined boolean shorthands
(``-Ar``) are accepted; booleans take ``--flag=false``. String-slice flags split on commas
and accumulate over repeats; string-array flags only accumulate. Errors carry pflag's wording
(``unknown flag: --x``, ``flag needs an argument: 'n' in -n``, ``invalid argument ...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Flag", "FlagError", "FlagSet", "parse_duration"]


class FlagError(Exception):
    """A command line pflag rejects; the message is pflag's."""


@dataclass(frozen=True)
class Flag:
    name: str
    kind: str = "string"  # bool | string | int | float | duration | slice | array
    default: Any = None
    help: str = ""
    short: str = ""
    hidden: bool = False
    no_opt: str | None = None  # value used when given without "=value" (e.g. -i for bools)

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def initial(self) -> Any:
        if self.kind in ("slice", "array"):
            return list(self.default or [])
        if self.kind == "bool":
            return bool(self.default)
        return self.default


def parse_duration(text: str) -> float:
    """Go ``time.ParseDuration`` (``1m30s``, ``500ms``, ``0``) in seconds.

    Raises:
        ValueError: not a duration.
    """
    import re

    if text in ("0", "+0", "-0"):
        return 0.0
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    m = re.fullmatch(r"([-+]?)((?:[0-9]*\.?[0-9]+(?:ns|us|µs|ms|s|m|h))+)", text)
    if not m:
        raise ValueError(f'time: invalid duration "{text}"')
    total = sum(float(n) * units[u] for n, u in
                re.findall(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)", m.group(2)))
    return -total if m.group(1) == "-" else total


class FlagSet:
    """The flags one command accepts (its own plus the global ones)."""

    def __init__(self, flags: list[Flag]) -> None:
        self.flags = flags
        self.by_name = {f.name: f for f in flags}
        self.by_short = {f.short: f for f in flags if f.short}
        self.changed: set[str] = set()

    def parse(self, args: list[str]) -> tuple[dict[str, Any], list[str], list[str]]:
        """Parse ``args``.

        Returns:
            (values by dest, positional arguments, arguments after ``--``)

        Raises:
            FlagError: unknown flag, missing or invalid value.
        """
        values = {f.dest: f.initial() for f in self.flags}
        positional: list[str] = []
        after: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                after = args[i:]
                break
            if arg.startswith("--") and len(arg) > 2:
                name, eq, value = arg[2:].partition("=")
                flag = self.by_name.get(name)
                if flag is None:
                    raise FlagError(f"unknown flag: --{name}")
                if eq:
                    self._set(values, flag, value, f"--{name}")
                elif flag.kind == "bool" or flag.no_opt is not None:
                    self._set(values, flag, flag.no_opt or "true", f"--{name}")
                elif i < len(args):
                    self._set(values, flag, args[i], f"--{name}")
                    i += 1
                else:
                    raise FlagError(f"flag needs an argument: --{name}")
            elif arg.startswith("-") and len(arg) > 1:
                shorts = arg[1:]
                j = 0
                while j < len(shorts):
                    c = shorts[j]
                    flag = self.by_short.get(c)
                    if flag is None:
                        raise FlagError(f"unknown shorthand flag: '{c}' in -{shorts}")
                    rest = shorts[j + 1:]
                    if flag.kind == "bool" or flag.no_opt is not None:
                        if rest.startswith("="):
                            self._set(values, flag, rest[1:], f"-{c}")
                            break
                        self._set(values, flag, flag.no_opt or "true", f"-{c}")
                        j += 1
                        continue
                    if rest:
                        self._set(values, flag, rest[1:] if rest.startswith("=") else rest,
                                  f"-{c}")
                    elif i < len(args):
                        self._set(values, flag, args[i], f"-{c}")
                        i += 1
                    else:
                        raise FlagError(f"flag needs an argument: '{c}' in -{c}")
                    break
            else:
                positional.append(arg)
        return values, positional, after

    def _set(self, values: dict[str, Any], flag: Flag, raw: str, shown: str) -> None:
        self.changed.add(flag.dest)
        name = f"--{flag.name}" if not shown.startswith("-") or shown.startswith("--") \
            else f"-{flag.short}, --{flag.name}"
        try:
            if flag.kind == "bool":
                values[flag.dest] = _parse_bool(raw)
            elif flag.kind == "int":
                values[flag.dest] = _parse_int(raw)
            elif flag.kind == "float":
                values[flag.dest] = float(raw)
            elif flag.kind == "duration":
                values[flag.dest] = parse_duration(raw)
            elif flag.kind == "slice":
                if flag.dest not in self._slices_seen:
                    values[flag.dest] = []
                    self._slices_seen.add(flag.dest)
                values[flag.dest].extend(_split_csv(raw) if raw else [])
            elif flag.kind == "array":
                if flag.dest not in self._slices_seen:
                    values[flag.dest] = []
                    self._slices_seen.add(flag.dest)
                values[flag.dest].append(raw)
            else:
                values[flag.dest] = raw
        except ValueError as exc:
            raise FlagError(f'invalid argument "{raw}" for "{name}" flag: {_why(flag, raw, exc)}')

    @property
    def _slices_seen(self) -> set[str]:
        seen: set[str] | None = getattr(self, "_seen", None)
        if seen is None:
            seen = set()
            self._seen = seen
        return seen


def _why(flag: Flag, raw: str, exc: ValueError) -> str:
    if flag.kind == "bool":
        return f'strconv.ParseBool: parsing "{raw}": invalid syntax'
    if flag.kind == "int":
        return f'strconv.ParseInt: parsing "{raw}": invalid syntax'
    if flag.kind == "float":
        return f'strconv.ParseFloat: parsing "{raw}": invalid syntax'
    return str(exc)


def _parse_bool(raw: str) -> bool:
    if raw in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if raw in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError(raw)


def _parse_int(raw: str) -> int:
    return int(raw, 0) if raw.lower().startswith(("0x", "0o", "0b")) else int(raw)


def _split_csv(raw: str) -> list[str]:
    import csv

    return next(csv.reader([raw]))
