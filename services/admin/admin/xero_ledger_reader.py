"""A reconciliation's Xero reads: the period's ACCREC invoices, 1,000 a page, with the
payments Xero nests in each (xero.md §2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from admin.ledger_reading import LedgerPage
from invoicesync.clients.xero import XeroClient
from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_numbers import keap_order_id_in_marker
from invoicesync.domain.reconciliation import (
    GONE_STATUSES,
    LedgerInvoice,
    LedgerLine,
    LedgerPayment,
)
from invoicesync.stores.id_map import IdMap

XERO_PAGE_SIZE = 1000  # `pageSize` with `page`: up to 1,000 invoices a call (xero.md §2)


class XeroLedgerReader:
    def __init__(self, client: XeroClient, id_map: IdMap) -> None:
        self._client = client
        self._id_map = id_map

    def read_page(self, tenant_id: str, first: date, last: date, page: int) -> LedgerPage:
        rows = self._client.invoices_dated_page(tenant_id, first, last, page, XERO_PAGE_SIZE)
        invoices, payments = [], []
        for row in rows:
            document = xero_ledger_invoice(row)
            invoices.append(document)
            if document.keap_order_id is None or document.status in GONE_STATUSES:
                continue  # a company's own invoice, or one whose payments went with it
            for paid in row.get("Payments") or []:
                payment_id = str(paid.get("PaymentID", ""))
                keap_id = self._id_map.keap_id_for(tenant_id, "xero", "payment", payment_id)
                payments.append(
                    LedgerPayment(
                        ledger_id=payment_id,
                        invoice_number=document.number,
                        currency=document.currency,
                        amount=_cents(paid.get("Amount")),
                        payment_date=_xero_date(paid.get("Date")) or document.invoice_date,
                        status=str(paid.get("Status", "")),
                        keap_payment_id=keap_id,
                    )
                )
        return LedgerPage(invoices, payments, last=len(rows) < XERO_PAGE_SIZE)

    def deleted_invoices(self, tenant_id: str, ledger_ids: Sequence[str]) -> set[str]:
        # Xero keeps a deleted invoice, status DELETED, in the period's pages.
        return set()


def xero_ledger_invoice(row: dict) -> LedgerInvoice:
    return LedgerInvoice(
        ledger_id=str(row["InvoiceID"]),
        number=str(row.get("InvoiceNumber", "")),
        status=str(row.get("Status", "")).upper(),
        currency=str(row.get("CurrencyCode") or ""),
        total=_cents(row.get("Total")),
        tax=_cents(row.get("TotalTax")),
        amount_due=_cents(row.get("AmountDue")),
        invoice_date=_xero_date(row.get("DateString") or row.get("Date")) or date.min,
        due_date=_xero_date(row.get("DueDateString") or row.get("DueDate")),
        contact=str((row.get("Contact") or {}).get("Name") or ""),
        lines=tuple(
            LedgerLine(str(line.get("Description", "")), _cents(line.get("LineAmount")))
            for line in row.get("LineItems") or []
        ),
        keap_order_id=keap_order_id_in_marker(Destination.XERO, str(row.get("Reference") or "")),
    )


def _xero_date(value: Any) -> date | None:
    """Xero writes `/Date(1539993600000+0000)/`; its *String twins are ISO."""
    text = str(value or "")
    if text.startswith("/Date("):
        millis = int(text[6:].split("+")[0].split("-")[0].rstrip(")/"))
        return datetime.fromtimestamp(millis / 1000, UTC).date()
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _cents(value: Any) -> Decimal:
    """Xero's amounts are 2-dp money; its JSON may write 10.0 for 10.00."""
    return Decimal(str(value or "0")).quantize(Decimal("0.01"))
