"""The consumer loop every ledger writer runs: canonical events in, runs batched per tenant;
on a timer, held payments re-checked and the id map restored from its ledger if Redis lost it."""

from __future__ import annotations

from invoicesync.events import Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions
from invoicesync.kafka.periodic_tasks import PeriodicTask, TenantOwnership
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.settings import Settings
from invoicesync.stores.id_map import restore_id_map_if_lost
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.writing.flow import CanonicalEventWriter


def writer_loop(
    settings: Settings,
    writer: CanonicalEventWriter,
    publisher: Publisher,
    *,
    group_id: str,
    max_run: int,
) -> ConsumerLoop:
    options = LoopOptions.for_service(
        settings, group_id, (Topic.CANONICAL_EVENTS,), max_run=max_run
    )
    redis_client = redis_from_settings(settings)

    def upkeep(owns_tenant: TenantOwnership) -> list[Outgoing]:
        restore_id_map_if_lost(settings, redis_client)
        return writer.sweep_held_payments(owns_tenant)

    task = PeriodicTask(settings.held_payment_recheck_seconds, upkeep, name="writer upkeep")
    return ConsumerLoop(settings, options, writer.handle, publisher, periodic=[task])
