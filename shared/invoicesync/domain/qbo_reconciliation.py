"""QBO invoices and payments, as the query endpoint returns them, in the reconciliation's terms.

Pure: the admin's QBO ledger reader passes the rows it read. Amounts are Decimal to the cent.
Where each field comes from is in shared/reference/qbo.md: §2.3 (TotalAmt, Balance,
TxnTaxDetail, DocNumber, CurrencyRef, LinkedTxn), §2.2 (line types), §2.5 (void), §5 (Payment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_numbers import keap_order_id_in_marker
from invoicesync.domain.reconciliation import LedgerInvoice, LedgerLine, LedgerPayment

# QBO has no status field: a voided document keeps its Id with every amount zeroed and
# "Voided" prepended to its PrivateNote (qbo.md §2.5). A deleted one is gone from queries.
VOIDED = "VOIDED"
PAID = "PAID"
OPEN = "OPEN"

_CENT = Decimal("0.01")


def ledger_invoice_from_qbo(row: Mapping[str, Any]) -> LedgerInvoice:
    """One QBO Invoice. Its lines are the item lines and the discount (negative, as Keap's
    discount lines are); the subtotal line QBO injects into every response and
    description-only lines are not lines of the sale (qbo.md §2.2, §10.4)."""
    total = qbo_cents(row.get("TotalAmt"))
    balance = qbo_cents(row.get("Balance"))
    note = str(row.get("PrivateNote") or "")
    return LedgerInvoice(
        ledger_id=str(row["Id"]),
        number=str(row.get("DocNumber") or ""),
        status=qbo_status(note, balance),
        currency=_ref(row, "CurrencyRef", "value"),
        total=total,
        tax=qbo_cents((row.get("TxnTaxDetail") or {}).get("TotalTax")),
        amount_due=balance,
        invoice_date=_date(row.get("TxnDate")) or date.min,
        due_date=_date(row.get("DueDate")),
        contact=_ref(row, "CustomerRef", "name"),
        lines=tuple(_lines(row.get("Line") or [])),
        keap_order_id=keap_order_id_in_marker(Destination.QBO, note),
    )


def qbo_status(private_note: str, balance: Decimal) -> str:
    if private_note.startswith("Voided"):
        return VOIDED
    return PAID if balance == 0 else OPEN


def payment_ids_linked_to(row: Mapping[str, Any]) -> list[str]:
    """The Payments applied to an invoice: its LinkedTxn entries of type Payment (§5)."""
    return [
        str(link["TxnId"])
        for link in row.get("LinkedTxn") or []
        if link.get("TxnType") == "Payment" and link.get("TxnId") is not None
    ]


def ledger_payments_from_qbo(
    payment: Mapping[str, Any],
    invoices: Mapping[str, LedgerInvoice],
    keap_payment_id: str | None,
) -> list[LedgerPayment]:
    """One QBO Payment's applications to the invoices in `invoices` (by QBO Id): one row per
    payment line linking one of them, for that line's amount. A payment may pay several
    invoices, and part of it may stay unapplied credit (qbo.md §5); neither is this
    invoice's money."""
    note = str(payment.get("PrivateNote") or "")
    status = VOIDED if note.startswith("Voided") else ""
    paid_on = _date(payment.get("TxnDate"))
    rows = []
    for line in payment.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            invoice = invoices.get(str(link.get("TxnId")))
            if link.get("TxnType") != "Invoice" or invoice is None:
                continue
            rows.append(
                LedgerPayment(
                    ledger_id=str(payment["Id"]),
                    invoice_number=invoice.number,
                    currency=_ref(payment, "CurrencyRef", "value") or invoice.currency,
                    amount=qbo_cents(line.get("Amount")),
                    payment_date=paid_on or invoice.invoice_date,
                    status=status,
                    keap_payment_id=keap_payment_id,
                )
            )
    return rows


def chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def qbo_cents(value: Any) -> Decimal:
    """QBO's amounts are 2-dp money; its JSON may write 10 or 10.0 for 10.00."""
    return Decimal(str(value if value is not None else "0")).quantize(_CENT, ROUND_HALF_UP)


def _lines(lines: Sequence[Mapping[str, Any]]) -> list[LedgerLine]:
    kept = []
    for line in lines:
        kind = line.get("DetailType")
        if kind == "SalesItemLineDetail":
            kept.append(
                LedgerLine(str(line.get("Description") or ""), qbo_cents(line.get("Amount")))
            )
        elif kind == "DiscountLineDetail":
            # QBO keeps a discount positive; Keap's discount lines are negative.
            kept.append(
                LedgerLine(str(line.get("Description") or ""), -qbo_cents(line.get("Amount")))
            )
    return kept


def _ref(row: Mapping[str, Any], key: str, part: str) -> str:
    ref = row.get(key)
    return str(ref.get(part) or "") if isinstance(ref, Mapping) else ""


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
