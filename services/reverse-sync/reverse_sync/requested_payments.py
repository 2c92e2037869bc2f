"""One ledger payment recorded in Keap because a bookkeeper asked (the admin's re-sync of a
payment entered in the ledger): read from the ledger by its id, then handed to the recorder as
the poll would hand it, with ReverseSync's switch and start date set aside."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from invoicesync.clients.qbo import QboClient
from invoicesync.clients.xero import XeroClient
from invoicesync.domain.canonical import Destination
from invoicesync.events import LedgerPaymentRecordRequest, SyncAction
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.tenants import TenantStore
from invoicesync.writing.outcomes import sync_result
from reverse_sync.keap_recorder import RESULT_OBJECT_TYPE, KeapPaymentRecorder
from reverse_sync.ledger_payments import (
    LedgerPayment,
    qbo_ledger_payments,
    requested_readings,
    xero_ledger_payment,
)

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RequestedPaymentRecorder:
    def __init__(
        self,
        tenants: TenantStore,
        xero: XeroClient,
        qbo: QboClient,
        recorder: KeapPaymentRecorder,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._tenants = tenants
        self._xero = xero
        self._qbo = qbo
        self._recorder = recorder
        self._clock = clock

    def __call__(self, tenant_id: str, request: LedgerPaymentRecordRequest) -> list[Outgoing]:
        settings = self._tenants.settings(tenant_id)  # UnknownTenant: dead-lettered
        if settings.destination.value != request.destination:
            why = f"the tenant's ledger is now {settings.destination.value}"
            return [self._not_recorded(tenant_id, request, why)]
        readings = requested_readings(self._read(tenant_id, request), request.invoice_id)
        if not readings:
            why = f"{request.destination} has no such payment"
            if request.invoice_id:
                why += f" on invoice {request.invoice_id}"
            return [self._not_recorded(tenant_id, request, why)]
        log.info(
            "ledger payment recording requested",
            extra={
                "tenant_id": tenant_id,
                "destination": request.destination,
                "payment_id": request.payment_id,
                "requested_by": request.requested_by,
            },
        )
        results: list[Outgoing] = []
        for seen in readings:
            results += self._recorder.record(tenant_id, seen, settings, requested=True)
        return results

    def _read(self, tenant_id: str, request: LedgerPaymentRecordRequest) -> list[LedgerPayment]:
        """One ledger call: Xero GET /Payments/{PaymentID} (xero.md §5), QBO GET /payment/{Id}
        (a read, not a metered query; a deleted payment is no longer there)."""
        if request.destination == Destination.XERO.value:
            row = self._xero.get_payment(tenant_id, request.payment_id)
            seen = xero_ledger_payment(row) if row is not None else None
            return [seen] if seen is not None else []
        row = self._qbo.read_payment(tenant_id, request.payment_id)
        return qbo_ledger_payments(row) if row is not None else []

    def _not_recorded(
        self, tenant_id: str, request: LedgerPaymentRecordRequest, why: str
    ) -> Outgoing:
        reason = f"{request.destination} payment {request.payment_id} not recorded in Keap: {why}"
        return sync_result(
            tenant_id,
            request.destination,
            RESULT_OBJECT_TYPE,
            "",
            SyncAction.SKIPPED,
            self._clock,
            reason=reason,
            destination_id=request.payment_id,
        )
