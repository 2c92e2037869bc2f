"""The Keap stand-in's pure rules: money units, totals, filters, plans and payment checks."""

from datetime import date
from decimal import Decimal

import pytest

from invoicesync_sandbox.keap.rules import (
    KeapValidationError,
    check_manual_payment,
    currency_value,
    from_minor_units,
    money,
    next_page_token,
    order_total,
    page_window,
    parse_filter,
    payment_plan_items,
)


def test_currency_value_is_in_minor_units_with_a_formatted_string():
    assert currency_value(Decimal("1234.5"), "USD") == {
        "amount": 123450,
        "currency_code": "USD",
        "formatted_amount": "$1,234.50",
    }


@pytest.mark.parametrize(
    ("amount", "currency", "minor", "formatted"),
    [
        (Decimal("100"), "USD", 10000, "$100.00"),
        (Decimal("1500"), "JPY", 1500, "¥1,500"),
        (Decimal("12.345"), "KWD", 12345, "KWD 12.345"),
        (Decimal("-3.5"), "GBP", -350, "-£3.50"),
    ],
)
def test_currency_value_counts_the_currencys_own_minor_unit(amount, currency, minor, formatted):
    assert currency_value(amount, currency) == {
        "amount": minor,
        "currency_code": currency,
        "formatted_amount": formatted,
    }


def test_amounts_round_half_up_to_the_currencys_minor_unit_and_back():
    assert money(1234.5, "JPY") == Decimal("1235")
    assert money("1.2345", "KWD") == Decimal("1.235")
    assert money(0.125, "USD") == Decimal("0.13")
    assert from_minor_units(1500, "JPY") == Decimal("1500")
    assert from_minor_units(1500, "KWD") == Decimal("1.500")
    assert from_minor_units(1250, "USD") == Decimal("12.50")


def test_discount_lines_subtract_whatever_their_sign():
    lines = [("PRODUCT", 2, Decimal("10")), ("DISCOUNT", 1, Decimal("3")), ("TAX", 1, Decimal("1"))]
    assert order_total(lines) == Decimal("18.00")
    assert order_total([("PRODUCT", 1, Decimal("10")), ("DISCOUNT", 1, Decimal("-3"))]) == 7


def test_filter_rejects_unknown_fields_and_operators():
    allowed = {"id": frozenset({"==", "<"}), "paid": frozenset({"=="})}
    assert [c.op for c in parse_filter("id<5;paid==true", allowed)] == ["<", "=="]
    with pytest.raises(KeapValidationError, match="nope"):
        parse_filter("nope==1", allowed)
    with pytest.raises(KeapValidationError, match="operator"):
        parse_filter("paid!=true", allowed)


def test_page_token_round_trips_and_ends_empty():
    token = next_page_token(0, 10, 25)
    assert page_window("10", token) == (10, 10)
    assert next_page_token(20, 10, 25) == ""
    with pytest.raises(KeapValidationError):
        page_window("1001", None)


def test_plan_items_add_up_to_the_total_and_fill_oldest_first():
    items = payment_plan_items(
        Decimal("100.00"),
        Decimal("40.00"),
        number_of_payments=3,
        days_between_payments=14,
        plan_start_date=date(2026, 1, 1),
        currency="USD",
    )
    assert [i.amount_due for i in items] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert [i.amount_paid for i in items] == [Decimal("33.33"), Decimal("6.67"), Decimal("0.00")]
    assert items[2].due_date == date(2026, 1, 29)


def test_plan_items_in_yen_are_whole_yen():
    items = payment_plan_items(
        Decimal("10000"),
        Decimal("0"),
        number_of_payments=3,
        days_between_payments=30,
        plan_start_date=date(2026, 1, 1),
        currency="JPY",
    )
    assert [i.amount_due for i in items] == [Decimal("3333"), Decimal("3333"), Decimal("3334")]


def test_manual_payment_checks():
    body = {"payment_amount": 10, "apply_to_commissions": False, "payment_method_type": "Cash"}
    assert check_manual_payment(body, Decimal("10.00"), ["Cash"], "USD") == (
        Decimal("10.00"),
        "Cash",
    )
    for broken, field in [
        ({**body, "payment_method_type": "cash"}, "payment_method_type"),
        ({**body, "payment_amount": 10.01}, "payment_amount"),
        ({**body, "payment_amount": 0}, "payment_amount"),
        ({k: v for k, v in body.items() if k != "apply_to_commissions"}, "apply_to_commissions"),
    ]:
        with pytest.raises(KeapValidationError, match=field):
            check_manual_payment(broken, Decimal("10.00"), ["Cash"], "USD")
