"""Canonical invoices, payments, refunds and contacts as Xero Accounting API request elements.

Amounts are `Decimal` values in the returned dicts. The Xero client must write them as JSON
numbers with exactly these digits (a Decimal-aware encoder; `float(value)` is also exact here
because every amount has at most 15 significant digits) and must send `unitdp=4` whenever
`xero_unitdp_for` says so. Bodies are single elements: the client wraps them
(`{"Invoices": [...]}`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Contact,
    Line,
    LineKind,
    PaymentKind,
)
from invoicesync.domain.ledger_numbers import xero_invoice_marker
from invoicesync.domain.money import to_cents
from invoicesync.domain.provider_rounding import (
    XERO_UNIT_PLACES,
    decimal_places,
    ledger_payment_amount,
    lines_for_ledger,
    unit_amount_for,
)
from invoicesync.domain.tenant_settings import XeroSettings

XERO_DESCRIPTION_MAX = 4000
XERO_CONTACT_NUMBER_MAX = 50


@dataclass(frozen=True)
class XeroItemRef:
    """A Xero item as SKU matching needs it: its Code and its sales account."""

    code: str
    sales_account_code: str = ""


def xero_invoice_from_canonical(
    invoice: CanonicalInvoice,
    settings: XeroSettings,
    contact_id: str,
    items_by_code: Mapping[str, XeroItemRef],
) -> dict[str, Any]:
    """The ACCREC invoice element for PUT /Invoices. Xero computes tax from each line's TaxType;
    `xero_rounding.reconcile_xero_invoice` then makes its totals equal Keap's."""
    line_amount_types = xero_line_amount_types(invoice)
    taxed = line_amount_types != "NoTax"
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": invoice.invoice_number,
        "Reference": xero_invoice_marker(invoice),
        "Date": invoice.invoice_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "Status": settings.invoice_status.value,
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": line_amount_types,
        "LineItems": [
            xero_line_item(line, invoice.currency, settings, items_by_code, taxed)
            for line in lines_for_ledger(invoice)
        ],
    }


def xero_line_amount_types(invoice: CanonicalInvoice) -> str:
    """How Keap priced the lines: tax on top, tax inside, or no taxable line at all."""
    if not any(line.taxable for line in invoice.lines):
        return "NoTax"
    return "Inclusive" if invoice.tax_inclusive else "Exclusive"


def xero_line_item(
    line: Line,
    currency: str,
    settings: XeroSettings,
    items_by_code: Mapping[str, XeroItemRef],
    taxed: bool,
) -> dict[str, Any]:
    amount = to_cents(line.line_amount, currency)
    quantity, unit_amount, description = _quantity_and_unit(line, amount)
    item = matched_xero_item(line, settings, items_by_code)
    element: dict[str, Any] = {
        "Description": description,
        "Quantity": quantity,
        "UnitAmount": unit_amount,
        "LineAmount": amount,
        "AccountCode": xero_account_code(line, settings, item),
        "TaxType": settings.taxable_tax_type if taxed and line.taxable else settings.zero_tax_type,
    }
    if item is not None and settings.sku_sets_item_code:
        element["ItemCode"] = item.code
    return element


def matched_xero_item(
    line: Line, settings: XeroSettings, items_by_code: Mapping[str, XeroItemRef]
) -> XeroItemRef | None:
    """The Xero item whose Code equals the line's SKU, when SKU matching is on."""
    if not settings.sku_matching or not line.sku:
        return None
    return items_by_code.get(line.sku.strip())


def xero_account_code(line: Line, settings: XeroSettings, item: XeroItemRef | None) -> str:
    """A matched item's sales account, else the override for the line's kind, else the default."""
    if item is not None and item.sales_account_code:
        return item.sales_account_code
    overrides = {
        LineKind.DISCOUNT: settings.discount_account_code,
        LineKind.FINANCE_CHARGE: settings.finance_charge_account_code,
        LineKind.SHIPPING: settings.shipping_account_code,
    }
    return overrides.get(line.kind, "").strip() or settings.default_account_code


def xero_unitdp_for(body: Mapping[str, Any]) -> int:
    """The `unitdp` query parameter a body needs: 4 when any unit amount or quantity has more
    than 2 decimals (Xero would otherwise round it to 2 and change the line amount)."""
    for item in body.get("LineItems", ()):
        for field in ("UnitAmount", "Quantity"):
            value = item.get(field)
            if isinstance(value, Decimal) and decimal_places(value) > 2:
                return 4
    return 2


def xero_payment_from_canonical(
    payment: CanonicalPayment, invoice_id: str, account_code: str
) -> dict[str, Any]:
    """The element for PUT /Payments paying an AUTHORISED invoice from a bank account."""
    if payment.kind is not PaymentKind.PAYMENT:
        raise ValueError("a refund is a credit note in Xero: use xero_credit_note_from_refund")
    amount = ledger_payment_amount(payment)
    return {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": account_code},
        "Date": payment.payment_date.isoformat(),
        "Amount": amount,
        "Reference": f"Keap payment {payment.keap_payment_id}",
    }


@dataclass(frozen=True)
class XeroRefundSplit:
    """How a refund's credit note is used: allocated to the invoice, paid out in cash, or both."""

    allocate_to_invoice: Decimal
    pay_out: Decimal
    left_as_credit: Decimal


def xero_refund_split(
    refund: CanonicalPayment, invoice_amount_due: Decimal, cash_returned: bool = True
) -> XeroRefundSplit:
    """Cash refunds (every Keap refund that moved money) are paid out of the credit note in
    full; the invoice stays paid. A credit without cash reduces what the invoice still owes,
    and whatever exceeds that stays on the credit note for the contact."""
    amount = ledger_payment_amount(refund)
    if cash_returned:
        return XeroRefundSplit(Decimal("0.00"), amount, Decimal("0.00"))
    allocated = min(amount, max(invoice_amount_due, Decimal("0.00")))
    return XeroRefundSplit(allocated, Decimal("0.00"), amount - allocated)


def xero_credit_note_from_refund(
    refund: CanonicalPayment,
    invoice_number: str,
    contact_id: str,
    settings: XeroSettings,
) -> dict[str, Any]:
    """The AUTHORISED ACCRECCREDIT element for PUT /CreditNotes (authorised so it can be
    allocated or refunded). One untaxed line: Keap does not say how a refund splits into tax."""
    amount = ledger_payment_amount(refund)
    return {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "Date": refund.payment_date.isoformat(),
        "Status": "AUTHORISED",
        "CreditNoteNumber": f"CN-{invoice_number}-{refund.keap_payment_id}",
        "Reference": f"Keap refund {refund.keap_payment_id} of invoice {invoice_number}",
        "CurrencyCode": refund.currency,
        "LineAmountTypes": "NoTax",
        "LineItems": [
            {
                "Description": f"Refund of invoice {invoice_number}",
                "Quantity": Decimal("1"),
                "UnitAmount": amount,
                "LineAmount": amount,
                "AccountCode": settings.default_account_code,
                "TaxType": settings.zero_tax_type,
            }
        ],
    }


def xero_credit_note_allocation(
    refund: CanonicalPayment, invoice_id: str, amount: Decimal
) -> dict[str, Any]:
    """The body for PUT /CreditNotes/{CreditNoteID}/Allocations."""
    return {
        "Allocations": [
            {
                "Invoice": {"InvoiceID": invoice_id},
                "Amount": to_cents(amount, refund.currency),
                "Date": refund.payment_date.isoformat(),
            }
        ]
    }


def xero_credit_note_refund_payment(
    refund: CanonicalPayment, credit_note_id: str, account_code: str, amount: Decimal
) -> dict[str, Any]:
    """The element for PUT /Payments that pays a credit note's cash back to the customer."""
    return {
        "CreditNote": {"CreditNoteID": credit_note_id},
        "Account": {"Code": account_code},
        "Date": refund.payment_date.isoformat(),
        "Amount": to_cents(amount, refund.currency),
        "Reference": f"Keap refund {refund.keap_payment_id}",
    }


def xero_contact_from_canonical(contact: Contact, unique_name: str) -> dict[str, Any]:
    """The element for PUT /Contacts. ContactNumber (Xero's "Contact Code") keeps the Keap id."""
    element = {"Name": unique_name, "ContactNumber": contact.keap_id[:XERO_CONTACT_NUMBER_MAX]}
    if contact.email:
        element["EmailAddress"] = contact.email.strip()
    return element


def xero_idempotency_key(
    tenant_id: str, keap_id: str, content_hash: str, *, operation: str = "invoice"
) -> str:
    """The Idempotency-Key header (≤128 chars): the same request always gets the same key.
    `content_hash` is the digest of the body sent (`request_body_digest`)."""
    digest = hashlib.sha256(
        "\x1f".join(("xero", tenant_id, operation, keap_id, content_hash)).encode()
    ).hexdigest()
    return f"invoicesync-{digest}"


def _quantity_and_unit(line: Line, amount: Decimal) -> tuple[Decimal, Decimal, str]:
    description = (line.description.strip() or line.kind.value)[:XERO_DESCRIPTION_MAX]
    if decimal_places(line.quantity) <= XERO_UNIT_PLACES:
        unit = unit_amount_for(amount, line.quantity, XERO_UNIT_PLACES, line.unit_amount)
        if unit is not None:
            return line.quantity, unit, description
    # No 4-decimal price gives Keap's amount for this quantity: bill it as one unit and keep
    # Keap's quantity and price readable in the description.
    shown = f"{description} ({line.quantity} × {line.unit_amount})"[:XERO_DESCRIPTION_MAX]
    return Decimal("1"), amount, shown
