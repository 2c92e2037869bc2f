"""Keap money readings cross-checked: amounts against formatted_amount, payment rows against
total_paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync.domain.keap_amount_checks import (
    KeapAmountMismatch,
    check_formatted_amount,
    check_payments_cover_total_paid,
    formatted_amount_value,
    paid_by_rows,
)
from invoicesync.domain.keap_order import KeapPayment, KeapPayStatus


@pytest.mark.parametrize(
    ("formatted", "digits", "value"),
    [
        ("$100.00", 2, Decimal("100.00")),
        ("$1,234.50", 2, Decimal("1234.50")),
        ("1.234,50 €", 2, Decimal("1234.50")),
        ("A$109.99", 2, Decimal("109.99")),
        ("-$5.00", 2, Decimal("-5.00")),
        ("($5.00)", 2, Decimal("-5.00")),
        ("¥1,500", 0, Decimal("1500")),
        ("KD1.500", 3, Decimal("1.500")),
        ("$1,234", 2, Decimal("1234")),
        ("CHF 1'234.50", 2, Decimal("1234.50")),
        ("1 234,50\u00a0€", 2, Decimal("1234.50")),
    ],
)
def test_formatted_amounts_read_in_any_common_locale(formatted, digits, value):
    assert formatted_amount_value(formatted, digits) == value


def test_a_formatted_amount_without_a_number_reads_as_nothing():
    assert formatted_amount_value("n/a", 2) is None


def test_an_amount_matching_its_formatted_amount_passes_and_a_missing_one_is_not_checked():
    check_formatted_amount("order 1 total", Decimal("100.00"), "$100.00", 2)
    check_formatted_amount("order 1 total", Decimal("1500"), "¥1,500", 0)
    check_formatted_amount("order 1 total", Decimal("100.00"), None, 2)


def test_minor_units_read_as_major_fail_naming_the_field_and_both_values():
    # `amount: 100` meant $100 but was read as 100 cents.
    with pytest.raises(KeapAmountMismatch) as raised:
        check_formatted_amount("order 7 total", Decimal("1.00"), "$100.00", 2)
    assert (
        str(raised.value) == "order 7 total: amount reads as 1.00 but formatted_amount is '$100.00'"
    )


def test_an_unreadable_formatted_amount_fails_rather_than_passing_unchecked():
    with pytest.raises(KeapAmountMismatch):
        check_formatted_amount("order 7 total", Decimal("1.00"), "n/a", 2)


def _row(amount: str, status: str = "MANUAL_PAID") -> KeapPayment:
    return KeapPayment("1", Decimal(amount), None, KeapPayStatus.parse(status))


def test_settled_rows_count_refunds_are_taken_back_and_failed_attempts_ignored():
    rows = [_row("50"), _row("70", "APPROVED"), _row("-20", "REFUNDED"), _row("70", "FAILED")]

    assert paid_by_rows(rows) == Decimal("100")
    check_payments_cover_total_paid("9", Decimal("100.00"), rows)


def test_payment_rows_in_cents_fail_against_total_paid_naming_both_sums():
    with pytest.raises(KeapAmountMismatch) as raised:
        check_payments_cover_total_paid("9", Decimal("40.00"), [_row("4000")])
    assert str(raised.value) == "order 9: total_paid is 40.00 but its payment rows sum to 4000"
