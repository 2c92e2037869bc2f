from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicesync.domain.money import round_half_up
from invoicesync.domain.provider_rounding import (
    QBO_UNIT_PLACES,
    XERO_UNIT_PLACES,
    allocate_by_weight,
    decimal_places,
    line_amount_from,
    unit_amount_for,
    xero_line_tax,
)

D = Decimal


def test_keaps_own_unit_price_is_kept_when_it_already_gives_the_amount():
    assert unit_amount_for(D("59.97"), D("3"), QBO_UNIT_PLACES, D("19.99")) == D("19.99")


def test_a_third_of_100_gets_three_decimals_so_three_units_make_exactly_100():
    unit = unit_amount_for(D("100.00"), D("3"), QBO_UNIT_PLACES, D("33.3333333333"))
    assert unit == D("33.333")
    assert round_half_up(D("3") * unit) == D("100.00")


def test_keap_price_with_too_many_decimals_is_replaced_by_a_shorter_exact_one():
    unit = unit_amount_for(D("10.00"), D("3"), XERO_UNIT_PLACES, D("3.333333"))
    assert unit is not None and decimal_places(unit) <= XERO_UNIT_PLACES
    assert line_amount_from(D("3"), unit) == D("10.00")


def test_negative_amounts_are_matched_too():
    unit = unit_amount_for(D("-100.00"), D("3"), QBO_UNIT_PLACES)
    assert line_amount_from(D("3"), unit) == D("-100.00")


def test_no_price_exists_when_the_quantity_outgrows_the_decimals_kept():
    assert unit_amount_for(D("100.01"), D("1000"), 2) is None


def test_zero_quantity_has_no_unit_price():
    assert unit_amount_for(D("5.00"), D("0"), QBO_UNIT_PLACES) is None


@given(
    cents=st.integers(min_value=-10_000_000, max_value=10_000_000),
    quantity=st.decimals(
        min_value=D("0.0001"), max_value=D("999"), places=4, allow_nan=False, allow_infinity=False
    ),
)
def test_qbo_6070_invariant_holds_for_any_amount_and_quantity(cents, quantity):
    amount = D(cents).scaleb(-2)
    unit = unit_amount_for(amount, quantity, QBO_UNIT_PLACES)
    assert unit is not None
    assert decimal_places(unit) <= QBO_UNIT_PLACES
    assert round_half_up(quantity * unit) == amount


def test_xero_inclusive_tax_follows_xeros_worked_example():
    # Xero's documentation: NZ GST 12.5 %, tax-inclusive lines.
    assert xero_line_tax(D("177.00"), D("12.5"), tax_inclusive=True) == D("19.67")
    assert xero_line_tax(D("-79.00"), D("12.5"), tax_inclusive=True) == D("-8.78")


def test_xero_exclusive_tax_is_rounded_half_up_per_line():
    assert xero_line_tax(D("25.43"), D("15"), tax_inclusive=False) == D("3.81")
    assert xero_line_tax(D("10.10"), D("5"), tax_inclusive=False) == D("0.51")


@given(
    total_cents=st.integers(min_value=-1_000_000, max_value=1_000_000),
    weights=st.lists(st.integers(min_value=1, max_value=100_000), min_size=1, max_size=8),
)
def test_allocation_always_sums_to_the_total(total_cents, weights):
    total = D(total_cents).scaleb(-2)
    shares = allocate_by_weight(total, [D(w) for w in weights])
    assert sum(shares) == total
    assert all(decimal_places(share) <= 2 for share in shares)


def test_allocation_follows_the_weights():
    assert allocate_by_weight(D("10.00"), [D("1"), D("1"), D("1")]) == [
        D("3.34"),
        D("3.33"),
        D("3.33"),
    ]


def test_allocation_over_cancelling_weights_goes_to_the_largest():
    assert allocate_by_weight(D("1.00"), [D("10"), D("-20"), D("10")]) == [
        D("0"),
        D("1.00"),
        D("0"),
    ]


def test_allocation_needs_something_to_allocate_over():
    with pytest.raises(ValueError):
        allocate_by_weight(D("1.00"), [])
