"""Resource quantities parse, print canonically and compare like ``resource.Quantity``."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3trio.api.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    ERR_FORMAT_WRONG,
    Quantity,
    QuantityError,
    parse_quantity,
    quantity_from_json,
)


@pytest.mark.parametrize(
    ("text", "canonical", "fmt"),
    [
        ("100m", "100m", DECIMAL_SI),
        ("1.5Gi", "1536Mi", BINARY_SI),
        ("0.5Gi", "512Mi", BINARY_SI),
        ("1024Ki", "1Mi", BINARY_SI),
        ("1.1Ki", "1126400m", BINARY_SI),
        ("1e3", "1e3", DECIMAL_EXPONENT),
        ("1E3", "1E3", DECIMAL_EXPONENT),  # canonical shape: spelling kept
        ("1e-1", "100e-3", DECIMAL_EXPONENT),
        ("128974848", "128974848", DECIMAL_SI),
        ("129e6", "129e6", DECIMAL_EXPONENT),
        ("129M", "129M", DECIMAL_SI),
        ("123Mi", "123Mi", BINARY_SI),
        ("1.5k", "1500", DECIMAL_SI),
        ("2000m", "2", DECIMAL_SI),
        ("1000", "1k", DECIMAL_SI),
        ("-1.5", "-1500m", DECIMAL_SI),
        ("0.1n", "1n", DECIMAL_SI),
        ("0", "0", DECIMAL_SI),
        ("0Gi", "0", BINARY_SI),
        ("1E", "1E", DECIMAL_SI),
        ("512", "512", DECIMAL_SI),
        ("0.5Ki", "512", BINARY_SI),
    ],
)
def test_canonical_form(text: str, canonical: str, fmt: str) -> None:
    q = parse_quantity(text)
    assert str(q) == canonical
    assert q.format == fmt


def test_already_canonical_spelling_is_kept() -> None:
    # Upstream's int64 fast path reuses the input string when it is in canonical shape.
    assert str(parse_quantity("+1")) == "+1"
    assert str(parse_quantity("1025Ki")) == "1025Ki"


@pytest.mark.parametrize("text", ["", "1Kb", "abc", "1.2.3", " 1", "1 "])
def test_format_errors(text: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert str(info.value) == ERR_FORMAT_WRONG


@pytest.mark.parametrize("text", ["1kk", "12e", "1Ki3"])
def test_suffix_errors(text: str) -> None:
    with pytest.raises(QuantityError, match="unable to parse quantity's suffix"):
        parse_quantity(text)


def test_values_round_up_away_from_zero() -> None:
    assert parse_quantity("100m").value() == 1
    assert parse_quantity("-100m").value() == -1
    assert parse_quantity("1.5Gi").milli_value() == 1610612736000
    assert parse_quantity("1500u").milli_value() == 2
    assert parse_quantity("250m").milli_value() == 250
    assert parse_quantity("1Ki").scaled_value(3) == 2


def test_comparison_and_arithmetic() -> None:
    assert parse_quantity("1Gi") > parse_quantity("1G")
    assert parse_quantity("1000m") == parse_quantity("1")
    assert parse_quantity("1k").cmp(parse_quantity("999")) == 1
    total = parse_quantity("500m") + parse_quantity("1.5")
    assert str(total) == "2"
    assert str(parse_quantity("1Gi") - parse_quantity("512Mi")) == "512Mi"
    # Zero takes the format of what is added to it.
    assert (Quantity() + parse_quantity("1Ki")).format == BINARY_SI
    assert str(parse_quantity("100m") * 3) == "300m"
    assert len({parse_quantity("1"), parse_quantity("1000m")}) == 1


def test_binary_values_are_capped_at_int64() -> None:
    assert parse_quantity("16Ei").value() == 2**63 - 1


decimal_suffix = st.sampled_from(["n", "u", "m", "", "k", "M", "G", "T", "P", "E"])
binary_suffix = st.sampled_from(["Ki", "Mi", "Gi", "Ti", "Pi"])


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=0, max_value=999),
    st.one_of(decimal_suffix, binary_suffix, st.integers(-12, 12).map(lambda e: f"e{e}")),
)
def test_round_trip(whole: int, frac: int, suffix: str) -> None:
    text = f"{whole}.{frac:03d}{suffix}" if frac else f"{whole}{suffix}"
    q = parse_quantity(text)
    again = parse_quantity(str(q))
    assert again == q
    assert str(again) == str(q)


@given(st.integers(-(10**20), 10**20), st.integers(-(10**20), 10**20))
def test_addition_is_exact(a: int, b: int) -> None:
    qa, qb = Quantity.from_nanos(a), Quantity.from_nanos(b)
    assert (qa + qb).nanos == a + b
    assert (qa + qb) - qb == qa
    assert parse_quantity(str(qa + qb)) == qa + qb


def test_from_json_accepts_strings_numbers_and_null() -> None:
    assert str(quantity_from_json(" 100m ")) == "100m"
    assert str(quantity_from_json(2)) == "2"
    assert str(quantity_from_json(0.5)) == "500m"
    assert quantity_from_json(None).is_zero()
    for bad in (True, [], float("inf")):
        with pytest.raises(QuantityError):
            quantity_from_json(bad)
