"""A dead letter in the tenant's activity log: a failed sync of the object its message names,
so nothing a consumer gives up on is visible to an operator only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from invoicesync.errors import InvalidInput, UnknownTenant
from invoicesync.events import (
    Envelope,
    EventType,
    SyncAction,
    SyncResult,
    Topic,
    envelope_for,
    payload_of,
)
from invoicesync.kafka.failure_policies import DeadLetter, DeadLetterReport
from invoicesync.kafka.publisher import Outgoing

REASON_LIMIT = 500


def failed_sync_report(
    destination: str | Callable[[Envelope], str],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DeadLetterReport:
    """`destination` is the writer's ledger, or how to tell it from the message."""

    def report(dead: DeadLetter) -> list[Outgoing]:
        envelope = dead.envelope
        if envelope is None or isinstance(dead.error, UnknownTenant):
            return []  # unreadable, or no tenant and so no activity log: the letter alone
        subject = subject_of(envelope)
        if subject is None:
            return []
        object_type, object_id, destination_id, number = subject
        result = SyncResult(
            destination=destination if isinstance(destination, str) else destination(envelope),
            object_type=object_type,
            keap_id=object_id,
            action=SyncAction.FAILED,
            recorded_at=clock(),
            reason=f"given up after {dead.attempts} attempt(s): {dead.error}"[:REASON_LIMIT],
            destination_id=destination_id,
            invoice_number=number,
        )
        event = envelope_for(EventType.SYNC_RESULT_RECORDED, envelope.tenant_id, result)
        return [Outgoing(Topic.SYNC_RESULTS, event)]

    return report


def subject_of(envelope: Envelope) -> tuple[str, str, str | None, str | None] | None:
    """(object type, Keap id, ledger id, invoice number) of what the message is about."""
    try:
        payload = payload_of(envelope)
    except InvalidInput:  # a payload that does not load names nothing
        return None
    if envelope.type is EventType.INVOICE_CANONICALISED:
        return "invoice", payload.keap_invoice_id, None, payload.invoice_number
    if envelope.type is EventType.PAYMENT_CANONICALISED:
        return "payment", payload.keap_payment_id, None, payload.invoice_number or None
    if envelope.type is EventType.KEAP_CHANGE_NOTIFIED:
        return payload.object_type, payload.object_id, None, None
    if envelope.type is EventType.LEDGER_CHANGE_NOTIFIED:
        return payload.entity, "", payload.entity_id, None
    if envelope.type is EventType.LEDGER_PAYMENT_RECORD_REQUESTED:
        return "payment", "", payload.payment_id, None
    return None
