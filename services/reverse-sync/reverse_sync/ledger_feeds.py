"""Reading payments from the ledgers through their clients: Xero's If-Modified-Since list and
QBO's Change Data Capture, each reporting how many ledger calls it took."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from invoicesync.clients.qbo import QboClient
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


@dataclass(frozen=True)
class FeedReading:
    payments: list[LedgerPayment]
    calls: int


class XeroPaymentFeed:
    def __init__(self, client: XeroClient) -> None:
        self._client = client

    def changed_since(self, tenant_id: str, since: datetime) -> FeedReading:
        """Every receivable payment created or changed after `since` (Xero sends no payment
        webhooks, so this is how they are found): one call, and one more per further 100."""
        found: list[LedgerPayment] = []
        calls = 0
        for page in range(1, MAX_XERO_PAGES + 1):
            rows = self._client.payments_modified_since(tenant_id, since, page=page)
            calls += 1
            found += [seen for row in rows if (seen := xero_ledger_payment(row)) is not None]
            if len(rows) < XERO_PAGE_SIZE:
                break
        return FeedReading(found, calls)


class QboPaymentFeed:
    def __init__(self, client: QboClient) -> None:
        self._client = client

    def changed_since(self, tenant_id: str, since: datetime, now: datetime) -> FeedReading:
        """Payments and refund receipts changed (or deleted) since `since`: one CDC call."""
        since = max(since, now - QBO_CDC_WINDOW)
        changed = self._client.changes_since(tenant_id, QBO_PAYMENT_ENTITIES, since)
        payments = [
            seen
            for entity in QBO_PAYMENT_ENTITIES
            for row in changed.get(entity, [])
            for seen in qbo_ledger_payments(row, entity)
        ]
        return FeedReading(payments, 1)
