"""The consumer loop every ledger writer runs: canonical events in, runs batched per tenant;
on a timer, held payments re-checked and the id map restored from its ledger if Redis lost it."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from invoicesync.events import Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions
from invoicesync.kafka.failure_policies import DeadLetterPolicy
from invoicesync.kafka.failure_reports import failed_sync_report
from invoicesync.kafka.periodic_tasks import PeriodicTask, TenantOwnership
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.settings import Settings
from invoicesync.stores.id_map import IdMap, restore_id_map_if_lost
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from invoicesync.writing.flow import CanonicalEventWriter


@dataclass(frozen=True)
class WriterParts:
    """What every ledger writer is built from besides its provider's client."""

    redis: redis.Redis
    publisher: Publisher
    id_map: IdMap
    tenants: TenantStore

    @classmethod
    def from_settings(cls, settings: Settings) -> WriterParts:
        """Wired to real Redis and Kafka; nothing connects yet. Mappings go to the ledger topic."""
        client = redis_from_settings(settings)
        publisher = Publisher(settings)
        return cls(client, publisher, IdMap(client, publisher, settings), TenantStore(client))


def writer_loop(
    settings: Settings,
    writer: CanonicalEventWriter,
    parts: WriterParts,
    *,
    group_id: str,
    max_run: int,
) -> ConsumerLoop:
    options = LoopOptions.for_service(
        settings,
        group_id,
        (Topic.CANONICAL_EVENTS,),
        max_run=max_run,
        dead_letters=DeadLetterPolicy(reports=(failed_sync_report(writer.destination.value),)),
        # Calls per run, not per invoice: a rate-limited tenant's backlog goes in full runs.
        shrink_runs_when_limited=False,
        concurrent_tenants=settings.concurrent_tenants,
    )

    def upkeep(owns_tenant: TenantOwnership) -> list[Outgoing]:
        restore_id_map_if_lost(settings, parts.redis)
        return writer.sweep_held_payments(owns_tenant)

    task = PeriodicTask(settings.held_payment_recheck_seconds, upkeep, name="writer upkeep")
    return ConsumerLoop(settings, options, writer.handle, parts.publisher, periodic=[task])
