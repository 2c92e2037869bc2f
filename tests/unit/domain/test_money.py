from decimal import Decimal

import pytest

from invoicesync.domain.money import (
    InvalidAmount,
    from_minor_units,
    minor_unit,
    to_cents,
    to_decimal,
    wire,
)


@pytest.mark.parametrize(
    ("currency", "unit"),
    [
        ("USD", "0.01"),
        ("JPY", "1"),
        ("XOF", "1"),
        ("KWD", "0.001"),
        ("OMR", "0.001"),
        ("CLF", "0.0001"),
    ],
)
def test_each_currency_counts_in_its_iso_minor_unit(currency, unit):
    assert minor_unit(currency) == Decimal(unit)


def test_minor_units_become_the_currencys_units_exactly():
    assert from_minor_units(12345, "USD") == Decimal("123.45")
    assert from_minor_units(12345, "JPY") == Decimal("12345")
    assert from_minor_units(12345, "KWD") == Decimal("12.345")


def test_rounding_is_half_up_to_the_minor_unit():
    assert to_cents(Decimal("2.675"), "USD") == Decimal("2.68")
    assert to_cents(Decimal("1.5"), "JPY") == Decimal("2")
    assert to_cents(Decimal("1.0005"), "BHD") == Decimal("1.001")


def test_floats_are_read_through_their_shortest_repr_never_binary():
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("19.99") == Decimal("19.99")


@pytest.mark.parametrize("value", [None, True, "abc", "NaN", float("inf"), object()])
def test_what_is_not_an_amount_is_refused(value):
    with pytest.raises(InvalidAmount):
        to_decimal(value)


def test_amounts_travel_as_plain_decimal_strings():
    assert wire(Decimal("1E+2")) == "100"
    assert wire(Decimal("0.10")) == "0.10"
