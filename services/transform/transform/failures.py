"""Transform's dead-letter report: a notification it gives up on also shows in the tenant's
activity log as a failed sync of the object it named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from invoicesync.errors import UnknownTenant
from invoicesync.events import (
    EventType,
    KeapNotification,
    SyncAction,
    SyncResult,
    Topic,
    envelope_for,
    payload_of,
)
from invoicesync.kafka.failure_policies import DeadLetter, DeadLetterReport
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.tenants import TenantStore


def failed_notification_report(
    tenants: TenantStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> DeadLetterReport:
    """Reads the tenant's destination from Redis: the loop's dead-letter policy retries it
    while Redis is away."""

    def report(dead: DeadLetter) -> list[Outgoing]:
        envelope = dead.envelope
        if envelope is None or envelope.type is not EventType.KEAP_CHANGE_NOTIFIED:
            return []  # not a readable notification: the dead letter alone records it
        if isinstance(dead.error, UnknownTenant):
            return []  # no tenant, so no activity log to write to
        notification: KeapNotification = payload_of(envelope)
        tenant = tenants.get(envelope.tenant_id)
        result = SyncResult(
            destination=tenant.destination.value if tenant is not None else "unknown",
            object_type=notification.object_type,
            keap_id=notification.object_id,
            action=SyncAction.FAILED,
            recorded_at=clock(),
            reason=str(dead.error)[:500],
        )
        event = envelope_for(EventType.SYNC_RESULT_RECORDED, envelope.tenant_id, result)
        return [Outgoing(Topic.SYNC_RESULTS, event)]

    return report
