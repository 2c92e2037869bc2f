"""The activity consumer: every `sync.results` event becomes an entry of the tenant's log.
Its loop also makes the monthly reconciliations (`admin.monthly_reconciliation`).

Run: `python -m admin.activity_consumer`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from admin.admin_services import AdminServices
from admin.monthly_reconciliation import MONTHLY_LEASE, TICK_SECONDS, MonthlyReconciliations
from admin.stores.activity import ActivityLog
from invoicesync.events import Envelope, EventType, SyncResult, Topic, payload_of
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.periodic_tasks import PeriodicTask
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.service_main import run_service
from invoicesync.settings import Settings
from invoicesync.stores.locks import Lease
from invoicesync.stores.redis_connection import redis_from_settings

GROUP_ID = "invoicesync-activity"


def activity_recorder(log: ActivityLog) -> Callable[[Envelope], Sequence[Outgoing]]:
    """A handler that stores each sync result once (redeliveries are no-ops); emits nothing."""

    def record(envelope: Envelope) -> Sequence[Outgoing]:
        if envelope.type is not EventType.SYNC_RESULT_RECORDED:
            return []
        result: SyncResult = payload_of(envelope)
        log.record(envelope.tenant_id, envelope.event_id, result)
        return []

    return record


def activity_loop(
    settings: Settings, *, group_id: str = GROUP_ID, periodic: Sequence[PeriodicTask] = ()
) -> ConsumerLoop:
    handler = activity_recorder(ActivityLog(redis_from_settings(settings)))
    options = LoopOptions.for_service(settings, group_id, (Topic.SYNC_RESULTS,))
    return ConsumerLoop(
        settings, options, one_at_a_time(handler), Publisher(settings), periodic=periodic
    )


def activity_service(settings: Settings) -> ConsumerLoop:
    """The deployed consumer: the log, and the monthly reconciliations as a periodic task."""
    monthly = MonthlyReconciliations(AdminServices.from_settings(settings))
    lease = Lease(redis_from_settings(settings), MONTHLY_LEASE, ttl_seconds=2 * TICK_SECONDS)
    return activity_loop(settings, periodic=[monthly.as_task(lease)])


def main() -> None:
    run_service("activity", activity_service)


if __name__ == "__main__":
    main()
