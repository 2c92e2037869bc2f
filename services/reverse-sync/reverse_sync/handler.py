"""The worker's handler: one ledger notification in, the sync results of what it caused out.

QBO names the payment that changed, so it is read and recorded; Xero names only invoices, so an
INVOICE event brings that tenant's payment poll forward. Everything else is ignored.
"""

from __future__ import annotations

from invoicesync.domain.canonical import Destination
from invoicesync.events import Envelope, EventType, LedgerNotification, payload_of
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.tenants import TenantStore
from reverse_sync.keap_recorder import KeapPaymentRecorder
from reverse_sync.ledger_feeds import QboPaymentFeed
from reverse_sync.ledger_payments import LedgerPayment, qbo_ledger_payments
from reverse_sync.poller import PaymentPoller

QBO_ENTITIES = {"payment": "Payment", "refundreceipt": "RefundReceipt"}


class LedgerNotificationHandler:
    def __init__(
        self,
        tenants: TenantStore,
        recorder: KeapPaymentRecorder,
        qbo: QboPaymentFeed,
        poller: PaymentPoller,
    ) -> None:
        self._tenants = tenants
        self._recorder = recorder
        self._qbo = qbo
        self._poller = poller

    def __call__(self, envelope: Envelope) -> list[Outgoing]:
        if envelope.type is not EventType.LEDGER_CHANGE_NOTIFIED:
            return []
        notification: LedgerNotification = payload_of(envelope)
        tenant_id = envelope.tenant_id
        settings = self._tenants.settings(tenant_id)  # UnknownTenant: dead-lettered
        if (
            not settings.sync.reverse_sync_enabled
            or settings.destination.value != notification.destination
        ):
            return []
        if settings.destination is Destination.XERO:
            if notification.entity == "invoice":
                return self._poller.poll_tenant(tenant_id)
            return []
        entity = QBO_ENTITIES.get(notification.entity)
        if entity is None:
            return []
        outgoing: list[Outgoing] = []
        for seen in self._qbo_readings(tenant_id, entity, notification):
            outgoing += self._recorder.record(tenant_id, seen, settings)
        return outgoing

    def _qbo_readings(
        self, tenant_id: str, entity: str, notification: LedgerNotification
    ) -> list[LedgerPayment]:
        if notification.operation in ("delete", "deleted"):
            stub = {"Id": notification.entity_id, "status": "Deleted"}
            return qbo_ledger_payments(stub, entity)
        return self._qbo.read(tenant_id, entity, notification.entity_id)
