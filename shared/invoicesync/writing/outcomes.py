"""Every writer outcome as a SyncResult on `sync.results` (the activity log reads them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from invoicesync.events import EventType, SyncAction, SyncResult, Topic, envelope_for
from invoicesync.kafka.publisher import Outgoing

INVOICE = "invoice"
PAYMENT = "payment"


def sync_result(
    tenant_id: str,
    destination: str,
    object_type: str,
    keap_id: str,
    action: SyncAction,
    now: Callable[[], datetime],
    *,
    reason: str = "",
    destination_id: str | None = None,
    invoice_number: str | None = None,
    reason_code: str = "",
) -> Outgoing:
    result = SyncResult(
        destination=destination,
        object_type=object_type,
        keap_id=keap_id,
        action=action,
        recorded_at=now(),
        reason=reason,
        destination_id=destination_id,
        invoice_number=invoice_number,
        reason_code=reason_code,
    )
    return Outgoing(
        Topic.SYNC_RESULTS, envelope_for(EventType.SYNC_RESULT_RECORDED, tenant_id, result)
    )
