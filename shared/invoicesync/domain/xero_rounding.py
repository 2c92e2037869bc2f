"""Xero's totals for an invoice body, and the adjustments that make them equal Keap's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoicesync.domain.canonical import CanonicalInvoice
from invoicesync.domain.money import CENT, round_half_up, to_cents
from invoicesync.domain.provider_rounding import (
    XERO_UNIT_PLACES,
    allocate_by_weight,
    exact_line_tax,
    line_amount_from,
    nudge_to_total,
    xero_line_tax,
)
from invoicesync.domain.tenant_settings import XeroSettings

ROUNDING_DESCRIPTION = "Rounding"
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class XeroTotals:
    subtotal: Decimal
    total_tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class XeroReconciliation:
    """The invoice body to send, the totals Xero will show for it, and what was adjusted."""

    body: dict[str, Any]
    totals: XeroTotals
    notes: tuple[str, ...]


def expected_xero_totals(
    body: Mapping[str, Any], tax_rates: Mapping[str, Decimal], unitdp: int = XERO_UNIT_PLACES
) -> XeroTotals:
    """SubTotal, TotalTax and Total as Xero computes them: each line's amount from Quantity ×
    UnitAmount (the unit rounded to `unitdp` decimals), each line's tax rounded on its own
    (or the line's TaxAmount when given), then summed. `tax_rates` maps TaxType to percent."""
    inclusive = body.get("LineAmountTypes") == "Inclusive"
    no_tax = body.get("LineAmountTypes") == "NoTax"
    line_total = tax_total = _ZERO
    for item in body.get("LineItems", ()):
        amount = xero_line_amount(item, unitdp)
        line_total += amount
        if no_tax:
            continue
        if "TaxAmount" in item:
            tax_total += item["TaxAmount"]
        else:
            rate = tax_rates.get(item.get("TaxType", ""), Decimal(0))
            tax_total += xero_line_tax(amount, rate, inclusive)
    if inclusive:
        return XeroTotals(line_total - tax_total, tax_total, line_total)
    return XeroTotals(line_total, tax_total, line_total + tax_total)


def xero_line_amount(item: Mapping[str, Any], unitdp: int = XERO_UNIT_PLACES) -> Decimal:
    """The amount Xero books for one line element."""
    if "Quantity" in item and "UnitAmount" in item:
        unit = round_half_up(item["UnitAmount"], Decimal(1).scaleb(-unitdp))
        return line_amount_from(item["Quantity"], unit)
    amount: Decimal = item["LineAmount"]
    return amount


def reconcile_xero_invoice(
    body: Mapping[str, Any],
    invoice: CanonicalInvoice,
    tax_rates: Mapping[str, Decimal],
    settings: XeroSettings,
) -> XeroReconciliation:
    """Make Xero's totals equal Keap's, the ways Xero documents.

    1. When Xero's per-line tax rounding (or its rate) gives a different tax than Keap's, set
       `TaxAmount` on the taxable lines: Xero's own figures moved a cent at a time when the gap
       is rounding, Keap's tax shared by line amount when it is more.
    2. When the total still differs (Keap's total is not its lines plus its tax), add a line
       to the ROUNDING account for the difference.
    """
    adjusted = dict(body)
    adjusted["LineItems"] = [dict(item) for item in body.get("LineItems", ())]
    notes: list[str] = []
    currency = invoice.currency
    keap_tax = to_cents(invoice.totals.tax, currency)
    if adjusted.get("LineAmountTypes") != "NoTax":
        note = _override_line_tax(adjusted, keap_tax, tax_rates, settings)
        if note:
            notes.append(note)
    totals = expected_xero_totals(adjusted, tax_rates)
    keap_total = to_cents(invoice.totals.total, currency)
    if totals.total != keap_total:
        difference = keap_total - totals.total
        adjusted["LineItems"].append(_rounding_line(difference, settings))
        notes.append(
            f"Xero's total {totals.total} differs from Keap's {keap_total}: added a "
            f"{difference} line to the rounding account {settings.rounding_account_code}."
        )
        totals = expected_xero_totals(adjusted, tax_rates)
    return XeroReconciliation(adjusted, totals, tuple(notes))


def _override_line_tax(
    body: dict[str, Any],
    keap_tax: Decimal,
    tax_rates: Mapping[str, Decimal],
    settings: XeroSettings,
) -> str:
    inclusive = body.get("LineAmountTypes") == "Inclusive"
    taxed = [item for item in body["LineItems"] if item.get("TaxType") == settings.taxable_tax_type]
    if not taxed:
        return ""
    if settings.taxable_tax_type not in tax_rates:
        raise ValueError(f"no rate known for Xero TaxType {settings.taxable_tax_type!r}")
    rate = tax_rates[settings.taxable_tax_type]
    amounts = [xero_line_amount(item) for item in taxed]
    exact = [exact_line_tax(amount, rate, inclusive) for amount in amounts]
    xero_taxes = [round_half_up(value, CENT) for value in exact]
    xero_tax = sum(xero_taxes, _ZERO)
    if xero_tax == keap_tax:
        return ""
    gap_in_cents = abs(keap_tax - xero_tax) / CENT
    if gap_in_cents <= len(taxed):
        overrides = nudge_to_total(xero_taxes, exact, keap_tax)
        why = "Xero rounds tax per line"
    else:
        overrides = allocate_by_weight(keap_tax, amounts)
        why = f"Keap's tax is not Xero's {rate}% on these lines"
    for item, tax in zip(taxed, overrides, strict=True):
        item["TaxAmount"] = tax
    return (
        f"{why}: Xero would charge {xero_tax} tax, Keap charged {keap_tax}; "
        f"set TaxAmount on {len(taxed)} taxable line(s) so the tax matches."
    )


def _rounding_line(difference: Decimal, settings: XeroSettings) -> dict[str, Any]:
    return {
        "Description": ROUNDING_DESCRIPTION,
        "Quantity": Decimal("1"),
        "UnitAmount": difference,
        "LineAmount": difference,
        "AccountCode": settings.rounding_account_code,
        "TaxType": settings.zero_tax_type,
    }
