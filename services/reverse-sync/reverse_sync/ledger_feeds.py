"""Reading payments from the ledgers through their clients: Xero's If-Modified-Since list,
QBO's Change Data Capture and single reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from invoicesync.clients.qbo import QboClient, quoted
from invoicesync.clients.xero import XeroClient
from reverse_sync.ledger_payments import (
    LedgerPayment,
    qbo_ledger_payments,
    xero_ledger_payment,
)

XERO_PAGE_SIZE = 100
MAX_XERO_PAGES = 100
# CDC looks back at most 30 days; stay a day inside that.
QBO_CDC_WINDOW = timedelta(days=29)
QBO_PAYMENT_ENTITIES = ("Payment", "RefundReceipt")


class XeroPaymentFeed:
    def __init__(self, client: XeroClient) -> None:
        self._client = client

    def changed_since(self, tenant_id: str, since: datetime) -> list[LedgerPayment]:
        """Every receivable payment created or changed after `since` (Xero sends no payment
        webhooks, so this is how they are found)."""
        found: list[LedgerPayment] = []
        for page in range(1, MAX_XERO_PAGES + 1):
            rows = self._client.payments_modified_since(tenant_id, since, page=page)
            found += [seen for row in rows if (seen := xero_ledger_payment(row)) is not None]
            if len(rows) < XERO_PAGE_SIZE:
                break
        return found


class QboPaymentFeed:
    def __init__(self, client: QboClient) -> None:
        self._client = client

    def changed_since(self, tenant_id: str, since: datetime, now: datetime) -> list[LedgerPayment]:
        since = max(since, now - QBO_CDC_WINDOW)
        changed = self._client.changes_since(tenant_id, QBO_PAYMENT_ENTITIES, since)
        return [
            seen
            for entity in QBO_PAYMENT_ENTITIES
            for row in changed.get(entity, [])
            for seen in qbo_ledger_payments(row, entity)
        ]

    def read(self, tenant_id: str, entity: str, entity_id: str) -> list[LedgerPayment]:
        """One Payment or RefundReceipt as QBO holds it now (nothing if it is gone)."""
        statement = f"select * from {entity} where Id = {quoted(entity_id)}"
        rows = self._client.query(tenant_id, statement).get(entity) or []
        return [seen for row in rows for seen in qbo_ledger_payments(row, entity)]
