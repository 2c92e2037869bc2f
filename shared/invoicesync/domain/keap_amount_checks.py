"""Cross-checks of Keap's money units, applied to every order read before anything is posted.

Keap's v2 spec is inconsistent about units (reference/keap.md §3.3, gotcha 11): a
`CurrencyValue.amount` is an integer of minor units (10000 = $100.00) beside a human
`formatted_amount`, while payment amounts are plain major-unit numbers (though the
`InvoiceOrderPayment.amount` example, 10000, looks like cents). Live behaviour is unverified, so
each reading is checked against a second field Keap sends; a disagreement is raised, never
guessed past.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from invoicesync.domain.keap_order import KeapPayment

_NUMBER = re.compile(r"\d[\d.,'\s\u00a0\u202f]*")
_SEPARATORS = re.compile(r"[.,'\s\u00a0\u202f]")


class KeapAmountMismatch(ValueError):
    """Two of Keap's fields disagree about one amount: its units cannot be trusted."""


def formatted_amount_value(formatted: str, minor_digits: int) -> Decimal | None:
    """The amount a `formatted_amount` shows ("$1,234.50", "1.234,50 €", "¥1,500", "-A$5.00").

    The last `.` or `,` is the decimal separator only when exactly `minor_digits` digits
    follow it; every other separator groups thousands. None when no number can be read.
    """
    match = _NUMBER.search(formatted)
    if match is None:
        return None
    text = match.group().rstrip(".,'\u00a0\u202f ")
    negative = "-" in formatted[: match.start()] or "(" in formatted[: match.start()]
    whole, fraction = text, ""
    last = max(text.rfind("."), text.rfind(","))
    if minor_digits > 0 and last >= 0 and len(text) - last - 1 == minor_digits:
        whole, fraction = text[:last], text[last + 1 :]
    digits = _SEPARATORS.sub("", whole)
    if not digits.isdigit() or (fraction and not fraction.isdigit()):
        return None
    value = Decimal(f"{digits}.{fraction}" if fraction else digits)
    return -value if negative else value


def check_formatted_amount(
    what: str, amount: Decimal, formatted: str | None, minor_digits: int
) -> None:
    """Raise KeapAmountMismatch unless `formatted` shows `amount` (absent: nothing to check)."""
    if not formatted:
        return
    shown = formatted_amount_value(formatted, minor_digits)
    if shown is None or shown != amount:
        raise KeapAmountMismatch(
            f"{what}: amount reads as {amount} but formatted_amount is {formatted!r}"
        )


def paid_by_rows(payments: Iterable[KeapPayment]) -> Decimal:
    """What an order's payment rows add up to: settled rows, refunds taken back."""
    total = Decimal(0)
    for payment in payments:
        if payment.status.is_settled:
            total += -abs(payment.amount) if payment.is_refund else payment.amount
    return total


def check_payments_cover_total_paid(
    order_id: str, total_paid: Decimal, payments: Iterable[KeapPayment]
) -> None:
    """Raise KeapAmountMismatch unless the order's payment rows sum to its `total_paid`."""
    rows = paid_by_rows(payments)
    if rows != total_paid:
        raise KeapAmountMismatch(
            f"order {order_id}: total_paid is {total_paid} but its payment rows sum to {rows}"
        )
