"""Canonical invoices, payments, refunds and contacts as QuickBooks Online request bodies.

Amounts are `Decimal` values; the QBO client writes them as JSON numbers with exactly these
digits through a Decimal-aware encoder (`float(value)` is exact only up to 15 significant
digits, and a 7-decimal UnitPrice on a large line can exceed that). Every item line
satisfies QBO's check (error 6070) `Amount == round_half_up(Qty × UnitPrice, 2)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
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
from invoicesync.domain.ledger_numbers import qbo_invoice_marker
from invoicesync.domain.money import to_cents
from invoicesync.domain.provider_rounding import (
    QBO_UNIT_PLACES,
    decimal_places,
    ledger_payment_amount,
    lines_for_ledger,
    unit_amount_for,
)
from invoicesync.domain.tenant_settings import QboSettings

QBO_DOC_NUMBER_MAX = 21
QBO_DESCRIPTION_MAX = 4000
QBO_BATCH_ITEM_ID_MAX = 10
# A fixed namespace so request ids are stable across processes and releases.
_REQUEST_ID_NAMESPACE = uuid.UUID("5b0c6f0e-2f7a-4a53-9d59-2f4f1f1c9e41")


class QboMappingError(ValueError):
    """The invoice cannot be expressed in QBO with these settings (never retried)."""


@dataclass(frozen=True)
class QboTaxRateRef:
    """One TaxRate of a non-US TaxCode, as a tax line names it."""

    rate_id: str
    percent: Decimal


@dataclass(frozen=True)
class QboItemRef:
    """A QBO item as invoice lines reference it."""

    item_id: str
    name: str = ""


def qbo_invoice_from_canonical(
    invoice: CanonicalInvoice,
    settings: QboSettings,
    customer_id: str,
    items_by_sku: Mapping[str, QboItemRef],
    us_company: bool,
    taxable_code_rates: Sequence[QboTaxRateRef] = (),
) -> dict[str, Any]:
    """The body for POST /invoice.

    US companies: lines carry the pseudo codes TAX/NON and `TxnTaxDetail.TotalTax` overrides
    QBO's own (automated) tax with Keap's. Other countries: every line carries a real TaxCode
    Id and `GlobalTaxCalculation` says whether prices include tax; with the taxable code's
    rates known, Keap's tax is sent as the tax lines' amounts (QBO's documented way to keep a
    total it would otherwise round its own way, per rate).
    """
    doc_number = invoice.invoice_number.strip()
    if len(doc_number) > QBO_DOC_NUMBER_MAX:
        raise QboMappingError(f"invoice number {doc_number!r} is longer than QBO's 21 characters")
    lines = lines_for_ledger(invoice)
    taxed = any(line.taxable for line in lines)
    discounts = [line for line in lines if _is_discount(line)]
    body: dict[str, Any] = {
        "DocNumber": doc_number,
        "TxnDate": invoice.invoice_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "CustomerRef": {"value": customer_id},
        "CurrencyRef": {"value": invoice.currency},
        "PrivateNote": qbo_invoice_marker(invoice),
        "Line": [
            qbo_item_line(line, invoice.currency, settings, items_by_sku, us_company, taxed)
            for line in lines
            if not _is_discount(line)
        ],
    }
    if discounts:
        body["Line"].append(qbo_discount_line(discounts, invoice.currency))
    if us_company:
        tax = to_cents(invoice.totals.tax, invoice.currency) if taxed else Decimal("0.00")
        body["TxnTaxDetail"] = {"TotalTax": tax}
        if settings.tax_code_id:
            body["TxnTaxDetail"]["TxnTaxCodeRef"] = {"value": settings.tax_code_id}
    else:
        body["GlobalTaxCalculation"] = "TaxInclusive" if invoice.tax_inclusive else "TaxExcluded"
        if taxed and taxable_code_rates:
            body["TxnTaxDetail"] = qbo_vat_override(invoice, lines, taxable_code_rates)
    return body


def qbo_vat_override(
    invoice: CanonicalInvoice, lines: Sequence[Line], rates: Sequence[QboTaxRateRef]
) -> dict[str, Any]:
    """`TxnTaxDetail` carrying Keap's tax on the taxable lines, shared across the code's rates
    by percent (the last rate takes the rounding remainder)."""
    currency = invoice.currency
    tax = to_cents(invoice.totals.tax, currency)
    taxable = sum(
        (to_cents(line.line_amount, currency) for line in lines if line.taxable), Decimal("0.00")
    )
    net = taxable - tax if invoice.tax_inclusive else taxable
    rate_sum = sum((rate.percent for rate in rates), Decimal("0"))
    shares = [
        to_cents(tax * rate.percent / rate_sum, currency) if rate_sum else Decimal("0.00")
        for rate in rates
    ]
    shares[-1] += tax - sum(shares, Decimal("0.00"))
    return {
        "TotalTax": tax,
        "TaxLine": [
            {
                "DetailType": "TaxLineDetail",
                "Amount": share,
                "TaxLineDetail": {
                    "TaxRateRef": {"value": rate.rate_id},
                    "PercentBased": True,
                    "TaxPercent": rate.percent,
                    "NetAmountTaxable": net,
                },
            }
            for rate, share in zip(rates, shares, strict=True)
        ],
    }


US_PSEUDO_TAX_CODES = frozenset({"TAX", "NON"})


def us_transaction_tax_code(chosen: str, company_codes: Mapping[str, str]) -> str:
    """The TaxCode Id a US invoice names in `TxnTaxDetail.TxnTaxCodeRef` (Id → name of the
    company's codes). The code decides which agency QBO owes the tax to, so with several
    agencies only the tenant can say which; a company with one real code leaves no choice."""
    if chosen:
        return chosen
    sales_codes = {
        code: name for code, name in company_codes.items() if code not in US_PSEUDO_TAX_CODES
    }
    if len(sales_codes) <= 1:
        return next(iter(sales_codes), "")
    names = ", ".join(sorted(sales_codes.values()))
    raise QboMappingError(
        f"qbo.tax_code_id is not set and the company collects sales tax for several agencies "
        f"({names}): choose the tax code Keap's tax is owed under"
    )


def qbo_item_line(
    line: Line,
    currency: str,
    settings: QboSettings,
    items_by_sku: Mapping[str, QboItemRef],
    us_company: bool,
    taxed: bool,
) -> dict[str, Any]:
    amount = to_cents(line.line_amount, currency)
    quantity, unit_price, description = _qty_and_unit_price(line, amount)
    taxable = taxed and line.taxable
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "Description": description,
        "SalesItemLineDetail": {
            "ItemRef": {"value": qbo_item_id(line, settings, items_by_sku)},
            "Qty": quantity,
            "UnitPrice": unit_price,
            "TaxCodeRef": {"value": qbo_tax_code(taxable, settings, us_company)},
        },
    }


def qbo_discount_line(discounts: list[Line], currency: str) -> dict[str, Any]:
    """One transaction-level discount (QBO allows one per invoice), Amount positive."""
    amount = -sum((to_cents(line.line_amount, currency) for line in discounts), Decimal("0.00"))
    descriptions = "; ".join(line.description.strip() for line in discounts if line.description)
    return {
        "DetailType": "DiscountLineDetail",
        "Amount": amount,
        "Description": descriptions[:QBO_DESCRIPTION_MAX],
        "DiscountLineDetail": {"PercentBased": False},
    }


def qbo_item_id(line: Line, settings: QboSettings, items_by_sku: Mapping[str, QboItemRef]) -> str:
    """A SKU-matched item, else the shipping/finance-charge item, else the (non-)taxable item."""
    if settings.sku_matching and line.sku and line.sku.strip() in items_by_sku:
        return items_by_sku[line.sku.strip()].item_id
    by_kind = {
        LineKind.SHIPPING: settings.shipping_item_id,
        LineKind.FINANCE_CHARGE: settings.finance_charge_item_id,
    }
    item_id = by_kind.get(line.kind, "") or (
        settings.taxable_item_id if line.taxable else settings.non_taxable_item_id
    )
    if not item_id:
        which = "taxable" if line.taxable else "non-taxable"
        raise QboMappingError(f"no QBO item is set for {which} lines")
    return item_id


def qbo_tax_code(taxable: bool, settings: QboSettings, us_company: bool) -> str:
    if us_company:
        return "TAX" if taxable else "NON"
    code = settings.tax_code_id if taxable else settings.non_taxable_tax_code_id
    if not code:
        which = "taxable" if taxable else "non-taxable"
        raise QboMappingError(f"no QBO tax code is set for {which} lines (non-US company)")
    return code


def qbo_payment_from_canonical(
    payment: CanonicalPayment, invoice_txn_id: str, customer_id: str, deposit_account_id: str
) -> dict[str, Any]:
    """The body for POST /payment, applied in full to the invoice. Without a deposit account
    QBO puts the money in Undeposited Funds."""
    if payment.kind is not PaymentKind.PAYMENT:
        raise ValueError("a refund is a RefundReceipt in QBO: use qbo_refund_receipt_from_refund")
    amount = ledger_payment_amount(payment)
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id},
        "TotalAmt": amount,
        "TxnDate": payment.payment_date.isoformat(),
        "CurrencyRef": {"value": payment.currency},
        "PaymentRefNum": payment.keap_payment_id[:QBO_DOC_NUMBER_MAX],
        "PrivateNote": f"Keap payment {payment.keap_payment_id} ({payment.method})",
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_txn_id, "TxnType": "Invoice"}]}
        ],
    }
    if deposit_account_id:
        body["DepositToAccountRef"] = {"value": deposit_account_id}
    return body


def qbo_refund_receipt_from_refund(
    refund: CanonicalPayment,
    invoice_number: str,
    customer_id: str,
    refund_account_id: str,
    settings: QboSettings,
    us_company: bool,
) -> dict[str, Any]:
    """The body for POST /refundreceipt: money paid back out of `refund_account_id`.

    A RefundReceipt, not a CreditMemo: a Keap refund returns cash for a paid invoice, which is
    what QBO's RefundReceipt records; a CreditMemo only leaves credit on the customer's account.
    One untaxed line, because Keap does not say how a refund splits into tax.
    """
    if not refund_account_id:
        raise QboMappingError("a RefundReceipt needs the account the refund is paid from")
    item_id = settings.non_taxable_item_id
    if not item_id:
        raise QboMappingError("no QBO item is set for non-taxable lines")
    amount = ledger_payment_amount(refund)
    body: dict[str, Any] = {
        "DocNumber": f"R{refund.keap_payment_id}"[:QBO_DOC_NUMBER_MAX],
        "TxnDate": refund.payment_date.isoformat(),
        "CustomerRef": {"value": customer_id},
        "CurrencyRef": {"value": refund.currency},
        "DepositToAccountRef": {"value": refund_account_id},
        "PaymentRefNum": refund.keap_payment_id[:QBO_DOC_NUMBER_MAX],
        "PrivateNote": f"Keap refund {refund.keap_payment_id} of invoice {invoice_number}",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "Description": f"Refund of invoice {invoice_number}",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item_id},
                    "Qty": Decimal("1"),
                    "UnitPrice": amount,
                    "TaxCodeRef": {"value": qbo_tax_code(False, settings, us_company)},
                },
            }
        ],
    }
    if not us_company:
        body["GlobalTaxCalculation"] = "TaxExcluded"
    return body


def qbo_customer_from_canonical(contact: Contact, display_name: str) -> dict[str, Any]:
    """The body for POST /customer. Notes keep the Keap id; QBO has no external-id field."""
    body: dict[str, Any] = {
        "DisplayName": display_name,
        "Notes": f"keap_contact_id={contact.keap_id}",
    }
    email = (contact.email or "").strip()
    if "@" in email and "." in email:
        body["PrimaryEmailAddr"] = {"Address": email}
    if contact.company and contact.company.strip():
        body["CompanyName"] = contact.company.strip()
    return body


def qbo_request_id(
    tenant_id: str, keap_id: str, content_hash: str, *, operation: str = "invoice"
) -> str:
    """The `requestid` query parameter: stable per request (`content_hash` is the digest of the
    body sent, `request_body_digest`), 36 characters, so it also fits the tighter limit on
    /batch requests."""
    name = "\x1f".join(("qbo", tenant_id, operation, keap_id, content_hash))
    return str(uuid.uuid5(_REQUEST_ID_NAMESPACE, name))


def qbo_batch_item_id(index: int) -> str:
    """A batch item's `bId` (≤10 characters with a requestid): the same index, the same id."""
    bid = f"b{index}"
    if index < 0 or len(bid) > QBO_BATCH_ITEM_ID_MAX:
        raise ValueError(f"batch index out of range: {index}")
    return bid


def _is_discount(line: Line) -> bool:
    return line.kind is LineKind.DISCOUNT and line.line_amount < 0


def _qty_and_unit_price(line: Line, amount: Decimal) -> tuple[Decimal, Decimal, str]:
    description = line.description.strip()[:QBO_DESCRIPTION_MAX]
    if decimal_places(line.quantity) <= QBO_UNIT_PLACES:
        unit = unit_amount_for(amount, line.quantity, QBO_UNIT_PLACES, line.unit_amount)
        if unit is not None:
            return line.quantity, unit, description
    # No 7-decimal price gives Keap's amount for this quantity: bill one unit of the amount.
    shown = f"{description} ({line.quantity} × {line.unit_amount})".strip()[:QBO_DESCRIPTION_MAX]
    return Decimal("1"), amount, shown
