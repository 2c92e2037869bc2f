"""Xero's invoice arithmetic: unit rounding, per-line tax rounded to cents, then sums."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")


def round_money(amount: Decimal, places: int = 2) -> Decimal:
    """Half away from zero, as Xero rounds (so -8.775 becomes -8.78)."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    """The amounts a client sent for one line (None = omitted)."""

    quantity: Decimal | None
    unit_amount: Decimal | None
    line_amount: Decimal | None = None
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    tax_rate_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineTotals:
    quantity: Decimal
    unit_amount: Decimal
    line_amount: Decimal
    tax_amount: Decimal
    discount: Decimal


@dataclass(frozen=True)
class DocumentTotals:
    lines: tuple[LineTotals, ...]
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    total_discount: Decimal


def line_totals(line: LineInput, line_amount_type: str, unitdp: int = 2) -> LineTotals:
    """One line as Xero stores it; LineAmount is after discount and in the document's tax mode."""
    unit_places = 4 if unitdp == 4 else 2
    quantity = line.quantity
    unit = round_money(line.unit_amount, unit_places) if line.unit_amount is not None else None
    if quantity is None and unit is None:
        quantity, unit = Decimal(1), line.line_amount or Decimal(0)
    elif quantity is None:
        quantity = (
            round_money(line.line_amount / unit, 4) if line.line_amount and unit else Decimal(1)
        )
    elif unit is None:
        unit = (
            round_money(line.line_amount / quantity, unit_places)
            if line.line_amount is not None and quantity
            else Decimal(0)
        )
    gross = quantity * unit
    if line.discount_rate is not None:
        amount = round_money(gross * (Decimal(100) - line.discount_rate) / Decimal(100))
    elif line.discount_amount is not None:
        amount = round_money(gross - line.discount_amount)
    else:
        amount = round_money(gross)
    tax = (
        line.tax_amount
        if line.tax_amount is not None
        else line_tax(amount, line.tax_rate_percent, line_amount_type)
    )
    return LineTotals(quantity, unit, amount, round_money(tax), round_money(gross) - amount)


def line_tax(line_amount: Decimal, rate_percent: Decimal, line_amount_type: str) -> Decimal:
    """Tax on one line, rounded to cents on its own (Xero never taxes the subtotal)."""
    if line_amount_type == "NoTax" or not rate_percent:
        return Decimal("0.00")
    rate = rate_percent / Decimal(100)
    if line_amount_type == "Inclusive":
        return round_money(line_amount * rate / (1 + rate))
    return round_money(line_amount * rate)


def document_totals(
    lines: Sequence[LineInput], line_amount_type: str = "Exclusive", unitdp: int = 2
) -> DocumentTotals:
    computed = tuple(line_totals(line, line_amount_type, unitdp) for line in lines)
    amounts = sum((line.line_amount for line in computed), Decimal("0.00"))
    total_tax = sum((line.tax_amount for line in computed), Decimal("0.00"))
    if line_amount_type == "Inclusive":
        sub_total, total = amounts - total_tax, amounts
    else:
        sub_total, total = amounts, amounts + total_tax
    discount = sum((line.discount for line in computed), Decimal("0.00"))
    return DocumentTotals(computed, sub_total, total_tax, total, discount)
