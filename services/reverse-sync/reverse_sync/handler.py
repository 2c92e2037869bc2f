"""The worker's handler: one ledger notification in, the sync results of what it caused out.

A ledger webhook says only that something changed, so it brings the tenant's payment poll
forward: a QBO notification starts a Change Data Capture catch-up for that company (QBO names
the entity that changed, which may be an invoice whose payment's own notification was lost), and
a Xero INVOICE or CREDITNOTE event a modified-since read (Xero has no payment events). An
invoice's creation brings nothing forward (payment_signals). A poll that began after the
webhook arrived already saw the change, so a burst costs one read. A
bookkeeper's request to record one ledger payment in Keap is read and recorded at once.
"""

from __future__ import annotations

from invoicesync.events import (
    Envelope,
    EventType,
    LedgerNotification,
    LedgerPaymentRecordRequest,
    payload_of,
)
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.tenants import TenantStore
from reverse_sync.payment_signals import may_signal_payment
from reverse_sync.poller import PaymentPoller
from reverse_sync.requested_payments import RequestedPaymentRecorder


class LedgerNotificationHandler:
    def __init__(
        self, tenants: TenantStore, poller: PaymentPoller, requested: RequestedPaymentRecorder
    ) -> None:
        self._tenants = tenants
        self._poller = poller
        self._requested = requested

    def __call__(self, envelope: Envelope) -> list[Outgoing]:
        if envelope.type is EventType.LEDGER_PAYMENT_RECORD_REQUESTED:
            request: LedgerPaymentRecordRequest = payload_of(envelope)
            return self._requested(envelope.tenant_id, request)
        if envelope.type is not EventType.LEDGER_CHANGE_NOTIFIED:
            return []
        notification: LedgerNotification = payload_of(envelope)
        if not may_signal_payment(notification):
            return []
        tenant_id = envelope.tenant_id
        settings = self._tenants.settings(tenant_id)  # UnknownTenant: dead-lettered
        if (
            not settings.sync.reverse_sync_enabled
            or settings.destination.value != notification.destination
        ):
            return []
        return self._poller.poll_tenant(
            tenant_id, unless_polled_since=notification.observed_at, trigger="webhook"
        )
