"""Kubernetes resource quantities (``resource.Quantity``): parse, print, compare, add.

A quantity is an exact number with at most nine fractional digits, held here as an integer
count of nano-units, plus the *format* its suffix chose:

    BinarySI          Ki Mi Gi Ti Pi Ei          ("1.5Gi")
    DecimalSI         n u m "" k M G T P E       ("100m", "129M")
    DecimalExponent   e<int> / E<int>            ("1e3", "129e6")

Invariants (as apimachinery's ``quantity.go``):
- Parsing rounds away from zero to a whole nano-unit ("0.1n" is "1n"): asking for a sliver of
  a resource never yields zero.
- BinarySI values are capped at 2**63-1; a BinarySI value strictly between -1 and 1 (or not a
  whole number, or under 1024 in magnitude when printed) is shown in DecimalSI.
- ``str()`` is the canonical form: the largest power-of-1000 (or 1024) suffix that keeps an
  integer mantissa. When the input was already canonical and fit int64 precision upstream
  keeps the caller's spelling ("+1", "01"), and so do we.
- Equality, ordering and hashing use the numeric value only, never the format.
"""

from __future__ import annotations

import functools
import math
from typing import Final

__all__ = [
    "BINARY_SI",
    "DECIMAL_EXPONENT",
    "DECIMAL_SI",
    "Quantity",
    "QuantityError",
    "parse_quantity",
    "quantity_from_json",
]

BINARY_SI: Final = "BinarySI"
DECIMAL_SI: Final = "DecimalSI"
DECIMAL_EXPONENT: Final = "DecimalExponent"

_NANO = 10**9
_MAX_INT64 = 2**63 - 1

ERR_FORMAT_WRONG = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

_DEC_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_BY_EXP = {v: k for k, v in _DEC_SUFFIXES.items()}
_BIN_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BIN_BY_EXP = {v: k for k, v in _BIN_SUFFIXES.items()}
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")


class QuantityError(ValueError):
    """A string that is not a quantity; ``str()`` is upstream's message."""


def _split(text: str) -> tuple[bool, str, str, str]:
    """``parseQuantityString``: (positive, numerator, denominator, suffix)."""
    positive = True
    pos, end = 0, len(text)
    if pos < end and text[0] in "+-":
        positive = text[0] == "+"
        pos += 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(ERR_FORMAT_WRONG)
    return positive, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """``interpret``: (base, exponent, format) of a suffix."""
    if suffix in _DEC_SUFFIXES:
        return 10, _DEC_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BIN_SUFFIXES:
        return 2, _BIN_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[:1] in ("+", "-") else digits
        if body and all(c in _DIGITS for c in body):
            exp = int(digits)
            if -(2**63) <= exp < 2**63:
                return 10, exp, DECIMAL_EXPONENT
    raise QuantityError(ERR_SUFFIX)


def _round_up_div(numerator: int, denominator: int) -> int:
    """Divide a non-negative numerator, rounding any remainder up."""
    return -((-numerator) // denominator)


def _keeps_spelling(num: str, denom: str, exp: int, fmt: str) -> bool:
    """Whether upstream's int64 fast path would keep the caller's spelling verbatim."""
    if fmt == BINARY_SI:
        if exp < 0 or denom:
            return False
        precision = 15 - len(num) - int(exp * 3 / 10) - 1
        if precision < 0:
            return False
        value = int(num)
        return value << exp <= _MAX_INT64 and exp % 10 == 0 and value & 0x07 != 0
    if 18 - len(num) - len(denom) < 0:
        return False
    scale = exp - len(denom)
    if scale < -9:
        return False
    shifted = num + denom
    return scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"


@functools.total_ordering
class Quantity:
    """An immutable quantity. Build with :func:`parse_quantity` or :meth:`from_nanos`."""

    __slots__ = ("_nanos", "_format", "_text")

    def __init__(self, nanos: int = 0, fmt: str = DECIMAL_SI, *, _text: str | None = None) -> None:
        if fmt not in (BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT):
            raise ValueError(f"unknown quantity format {fmt!r}")
        self._nanos = nanos
        self._format = fmt
        self._text = _text

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_nanos(cls, nanos: int, fmt: str = DECIMAL_SI) -> Quantity:
        return cls(nanos, fmt)

    @classmethod
    def from_int(cls, value: int, fmt: str = DECIMAL_SI) -> Quantity:
        """``NewQuantity(value, format)``."""
        return cls(value * _NANO, fmt)

    @classmethod
    def from_milli(cls, value: int, fmt: str = DECIMAL_SI) -> Quantity:
        """``NewMilliQuantity(value, format)``."""
        return cls(value * 10**6, fmt)

    # -- accessors ---------------------------------------------------------------------------
    @property
    def format(self) -> str:
        return self._format

    @property
    def nanos(self) -> int:
        """The exact value in units of 10**-9."""
        return self._nanos

    def value(self) -> int:
        """``Value()``: the value rounded up (away from zero) to an integer."""
        return self._scaled_ceil(0)

    def milli_value(self) -> int:
        """``MilliValue()``: the value in thousandths, rounded up (away from zero)."""
        return self._scaled_ceil(-3)

    def scaled_value(self, scale: int) -> int:
        """``ScaledValue(scale)``: ceil of value / 10**scale, away from zero (milli is -3)."""
        return self._scaled_ceil(scale)

    def _scaled_ceil(self, scale: int) -> int:
        shift = 9 + scale
        mag = abs(self._nanos)
        out = _round_up_div(mag, 10**shift) if shift >= 0 else mag * 10 ** (-shift)
        return -out if self._nanos < 0 else out

    def is_zero(self) -> bool:
        return self._nanos == 0

    def sign(self) -> int:
        return (self._nanos > 0) - (self._nanos < 0)

    def as_float(self) -> float:
        return self._nanos / _NANO

    # -- arithmetic (results drop the cached spelling, as upstream's Add/Sub do) ------------
    def _with(self, nanos: int, other: Quantity) -> Quantity:
        fmt = other._format if self._nanos == 0 and self._format != other._format else self._format
        return Quantity(nanos, fmt)

    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._with(self._nanos + other._nanos, other)

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._with(self._nanos - other._nanos, other)

    def __neg__(self) -> Quantity:
        return Quantity(-self._nanos, self._format)

    def __abs__(self) -> Quantity:
        return Quantity(abs(self._nanos), self._format)

    def __mul__(self, factor: int) -> Quantity:
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Quantity(self._nanos * factor, self._format)

    __rmul__ = __mul__

    # -- comparison --------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos == other._nanos

    def __lt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos < other._nanos

    def __hash__(self) -> int:
        return hash(self._nanos)

    def cmp(self, other: Quantity) -> int:
        """``Cmp``: -1, 0 or 1."""
        return (self._nanos > other._nanos) - (self._nanos < other._nanos)

    # -- printing ----------------------------------------------------------------------------
    def __str__(self) -> str:
        if self._text is not None:
            return self._text
        number, suffix = self.canonical_parts()
        return number + suffix

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def to_json(self) -> str:
        """The JSON form: the string, as ``MarshalJSON`` writes it."""
        return str(self)

    def canonical_parts(self) -> tuple[str, str]:
        """``CanonicalizeBytes``: (number, suffix) of the canonical spelling."""
        nanos = self._nanos
        if nanos == 0:
            return "0", ""
        fmt = self._format
        if fmt == BINARY_SI:
            if -1024 * _NANO < nanos < 1024 * _NANO or nanos % _NANO:
                fmt = DECIMAL_SI
        sign = "-" if nanos < 0 else ""
        mag = abs(nanos)
        if fmt == BINARY_SI:
            mantissa, exp = mag // _NANO, 0
            while exp < 60 and mantissa % 1024 == 0:
                mantissa //= 1024
                exp += 10
            return sign + str(mantissa), _BIN_BY_EXP.get(exp, "")
        mantissa, exp = mag, -9
        while mantissa % 1000 == 0:
            mantissa //= 1000
            exp += 3
        if fmt == DECIMAL_EXPONENT:
            return sign + str(mantissa), ("" if exp == 0 else f"e{exp}")
        if exp > 18:
            mantissa *= 10 ** (exp - 18)
            exp = 18
        return sign + str(mantissa), _DEC_BY_EXP[exp]


def parse_quantity(text: str) -> Quantity:
    """``ParseQuantity``: parse a quantity string (surrounding whitespace is not allowed).

    Raises:
        QuantityError: with upstream's message, for empty input, a malformed number or an
            unknown suffix.
    """
    if not isinstance(text, str) or not text:
        raise QuantityError(ERR_FORMAT_WRONG)
    positive, num, denom, suffix = _split(text)
    base, exp, fmt = _interpret(suffix)
    digits = int(num + denom) if (num + denom) else 0
    if base == 10:
        scale = exp - len(denom)  # value = digits * 10**scale
        if scale >= -9:
            nanos = digits * 10 ** (scale + 9)
        else:
            nanos = _round_up_div(digits, 10 ** (-9 - scale))
    else:
        numerator = digits << exp
        nanos = _round_up_div(numerator * _NANO, 10 ** len(denom))
    if fmt == BINARY_SI:
        nanos = min(nanos, _MAX_INT64 * _NANO)
        if 0 < nanos < _NANO:
            fmt = DECIMAL_SI
    if not positive:
        nanos = -nanos
    keep = text if _keeps_spelling(num, denom, exp, fmt) else None
    return Quantity(nanos, fmt, _text=keep)


def quantity_from_json(value: object) -> Quantity:
    """``Quantity.UnmarshalJSON``: a JSON string (spaces trimmed) or number; ``null`` is zero.

    Raises:
        QuantityError: anything else, or a string that is not a quantity.
    """
    if value is None:
        return Quantity()
    if isinstance(value, str):
        return parse_quantity(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QuantityError(ERR_FORMAT_WRONG)
    if isinstance(value, float) and not math.isfinite(value):
        raise QuantityError(ERR_FORMAT_WRONG)
    return parse_quantity(str(value) if isinstance(value, int) else repr(value))
