"""A reconciliation's QBO reads: the period's Invoices through the query endpoint, 1,000 a page,
then the Payments applied to them (the Ids their LinkedTxn holds), many Ids a query: never one
call per invoice (qbo.md §2.7, §5)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from admin.ledger_reading import LedgerPage
from invoicesync.clients.qbo import QUERY_MAX_RESULTS, QboClient
from invoicesync.domain.qbo_reconciliation import (
    ledger_invoice_from_qbo,
    ledger_payments_from_qbo,
    payment_ids_linked_to,
)
from invoicesync.domain.reconciliation import GONE_STATUSES, LedgerPayment
from invoicesync.stores.id_map import IdMap

QBO_PAGE_SIZE = QUERY_MAX_RESULTS


class QboLedgerReader:
    def __init__(self, client: QboClient, id_map: IdMap) -> None:
        self._client = client
        self._id_map = id_map

    def read_page(self, tenant_id: str, first: date, last: date, page: int) -> LedgerPage:
        start = (page - 1) * QBO_PAGE_SIZE + 1
        rows = self._client.invoices_dated_page(tenant_id, first, last, start, QBO_PAGE_SIZE)
        invoices = [ledger_invoice_from_qbo(row) for row in rows]
        # A company's own invoice, or a voided one (its payments went with it), is left out.
        ours = {
            doc.ledger_id: doc
            for doc in invoices
            if doc.keap_order_id is not None and doc.status not in GONE_STATUSES
        }
        linked = sorted(
            {
                payment_id
                for row in rows
                if str(row["Id"]) in ours
                for payment_id in payment_ids_linked_to(row)
            }
        )
        payments: list[LedgerPayment] = []
        for payment in self._client.payments_by_ids(tenant_id, linked):
            payment_id = str(payment["Id"])
            keap_id = self._id_map.keap_id_for(tenant_id, "qbo", "payment", payment_id)
            payments += ledger_payments_from_qbo(payment, ours, keap_id)
        return LedgerPage(invoices, payments, last=len(rows) < QBO_PAGE_SIZE)

    def deleted_invoices(self, tenant_id: str, ledger_ids: Sequence[str]) -> set[str]:
        # QBO's queries leave a deleted invoice out; one Id query tells deleted from re-dated.
        return self._client.missing_invoices(tenant_id, list(ledger_ids))
