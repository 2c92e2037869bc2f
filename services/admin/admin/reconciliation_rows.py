"""A reconciliation job's rows as Redis keeps them: what the comparison needs, nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Contact,
    Destination,
    Line,
    LineKind,
    PaymentKind,
    Totals,
)
from invoicesync.domain.keap_order import KeapPayment
from invoicesync.domain.ledger_to_keap import LedgerPaymentRef, ledger_payment_named_in
from invoicesync.domain.reconciliation import LedgerInvoice, LedgerLine, LedgerPayment


def invoice_row(invoice: CanonicalInvoice) -> dict:
    return {
        "keap_invoice_id": invoice.keap_invoice_id,
        "keap_order_id": invoice.keap_order_id,
        "number": invoice.invoice_number,
        "contact": invoice.contact.name,
        "currency": invoice.currency,
        "date": invoice.invoice_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "total": str(invoice.totals.total),
        "tax": str(invoice.totals.tax),
        "due": str(invoice.totals.due),
        "lines": [[str(line.line_amount), line.kind.value, line.taxable] for line in invoice.lines],
    }


def invoice_from_row(row: dict) -> CanonicalInvoice:
    total, tax, due = Decimal(row["total"]), Decimal(row["tax"]), Decimal(row["due"])
    return CanonicalInvoice(
        tenant_id="",
        keap_invoice_id=row["keap_invoice_id"],
        keap_order_id=row["keap_order_id"],
        invoice_number=row["number"],
        contact=Contact(keap_id="", name=row["contact"]),
        currency=row["currency"],
        invoice_date=date.fromisoformat(row["date"]),
        due_date=date.fromisoformat(row["due_date"]),
        lines=tuple(
            Line(LineKind(kind), "", Decimal(1), Decimal(amount), Decimal(amount), taxable)
            for amount, kind, taxable in row["lines"]
        ),
        totals=Totals(total - tax, tax, total, total - due, due),
    )


def payment_row(payment: CanonicalPayment, recorded_from: LedgerPaymentRef | None = None) -> dict:
    """`recorded_from`: the ledger payment ReverseSync recorded this Keap payment from."""
    return {
        "keap_payment_id": payment.keap_payment_id,
        "keap_invoice_id": payment.keap_invoice_id,
        "amount": str(payment.amount),
        "date": payment.payment_date.isoformat(),
        "kind": payment.kind.value,
        "currency": payment.currency,
        "number": payment.invoice_number,
        "recorded_from": (
            {"destination": recorded_from.destination.value, "id": recorded_from.payment_id}
            if recorded_from
            else None
        ),
    }


def payment_rows(payments: Iterable[CanonicalPayment], read: Iterable[KeapPayment]) -> list[dict]:
    """The rows of an order's payments; `read` is what Keap listed, whose notes say which ones
    ReverseSync recorded from a ledger payment."""
    named = {p.id: ref for p in read if (ref := ledger_payment_named_in(p.note)) is not None}
    return [payment_row(p, named.get(p.keap_payment_id)) for p in payments]


def recorded_from_rows(rows: Iterable[dict], destination: Destination) -> dict[str, str]:
    """Keap payment id → the id of the ledger payment of `destination` it was recorded from
    (rows stored before this was kept have none)."""
    found = {}
    for row in rows:
        ref = row.get("recorded_from")
        if ref and ref.get("destination") == destination.value:
            found[row["keap_payment_id"]] = str(ref["id"])
    return found


def payment_from_row(row: dict) -> CanonicalPayment:
    return CanonicalPayment(
        tenant_id="",
        keap_payment_id=row["keap_payment_id"],
        keap_invoice_id=row["keap_invoice_id"],
        amount=Decimal(row["amount"]),
        payment_date=date.fromisoformat(row["date"]),
        method="",
        kind=PaymentKind(row["kind"]),
        currency=row["currency"],
        invoice_number=row["number"],
    )


def ledger_invoice_row(doc: LedgerInvoice) -> dict:
    return {
        "ledger_id": doc.ledger_id,
        "number": doc.number,
        "status": doc.status,
        "currency": doc.currency,
        "total": str(doc.total),
        "tax": str(doc.tax),
        "amount_due": str(doc.amount_due),
        "date": doc.invoice_date.isoformat(),
        "due_date": doc.due_date.isoformat() if doc.due_date else None,
        "contact": doc.contact,
        "lines": [str(line.amount) for line in doc.lines],
        "keap_order_id": doc.keap_order_id,
    }


def ledger_invoice_from_row(row: dict) -> LedgerInvoice:
    return LedgerInvoice(
        ledger_id=row["ledger_id"],
        number=row["number"],
        status=row["status"],
        currency=row["currency"],
        total=Decimal(row["total"]),
        tax=Decimal(row["tax"]),
        amount_due=Decimal(row["amount_due"]),
        invoice_date=date.fromisoformat(row["date"]),
        due_date=date.fromisoformat(row["due_date"]) if row["due_date"] else None,
        contact=row["contact"],
        lines=tuple(LedgerLine("", Decimal(a)) for a in row["lines"]),
        keap_order_id=row["keap_order_id"],
    )


def ledger_payment_row(pay: LedgerPayment) -> dict:
    return {
        "ledger_id": pay.ledger_id,
        "number": pay.invoice_number,
        "currency": pay.currency,
        "amount": str(pay.amount),
        "date": pay.payment_date.isoformat(),
        "status": pay.status,
        "keap_payment_id": pay.keap_payment_id,
    }


def ledger_payment_from_row(row: dict) -> LedgerPayment:
    return LedgerPayment(
        ledger_id=row["ledger_id"],
        invoice_number=row["number"],
        currency=row["currency"],
        amount=Decimal(row["amount"]),
        payment_date=date.fromisoformat(row["date"]),
        status=row["status"],
        keap_payment_id=row["keap_payment_id"],
    )
