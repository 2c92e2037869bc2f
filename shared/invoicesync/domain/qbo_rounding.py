"""QuickBooks Online's totals for an invoice body, and its line-amount rule (error 6070)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoicesync.domain.provider_rounding import line_amount_from

_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class QboTotals:
    """What QBO shows: item subtotal, discount, tax and TotalAmt. `tax` is None when QBO
    computes it itself (non-US companies) and this module cannot know it."""

    subtotal: Decimal
    discount: Decimal
    tax: Decimal | None
    total: Decimal | None


def qbo_line_is_consistent(line: Mapping[str, Any]) -> bool:
    """QBO's check on a sales item line: Amount == round_half_up(Qty × UnitPrice, 2)."""
    detail = line["SalesItemLineDetail"]
    amount: Decimal = line["Amount"]
    return line_amount_from(detail["Qty"], detail["UnitPrice"]) == amount


def expected_qbo_totals(body: Mapping[str, Any]) -> QboTotals:
    """The totals QBO will compute for an invoice body built by `qbo_invoice_from_canonical`.

    Raises ValueError for a line QBO would reject with 6070. With `TxnTaxDetail.TotalTax`
    (US) the tax is that override; with tax-inclusive prices the tax is inside the lines.
    """
    subtotal = discount = _ZERO
    for line in body.get("Line", ()):
        if line["DetailType"] == "SalesItemLineDetail":
            if not qbo_line_is_consistent(line):
                raise ValueError(f"QBO would reject this line (6070): {line}")
            subtotal += line["Amount"]
        elif line["DetailType"] == "DiscountLineDetail":
            discount += line["Amount"]
    net = subtotal - discount
    if body.get("GlobalTaxCalculation") == "TaxInclusive":
        return QboTotals(subtotal, discount, None, net)
    tax = body.get("TxnTaxDetail", {}).get("TotalTax")
    if tax is None:
        return QboTotals(subtotal, discount, None, None)
    return QboTotals(subtotal, discount, tax, net + tax)
