"""The consumer loop every ledger writer runs: canonical events in, runs batched per tenant,
held payments re-checked on a timer."""

from __future__ import annotations

from invoicesync.events import Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, PeriodicTask
from invoicesync.kafka.publisher import Publisher
from invoicesync.settings import Settings
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
    sweep = PeriodicTask(settings.held_payment_recheck_seconds, writer.sweep_held_payments)
    return ConsumerLoop(settings, options, writer.handle, publisher, periodic=sweep)
