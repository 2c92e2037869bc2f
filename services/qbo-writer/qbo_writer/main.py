"""`python -m qbo_writer.main`: consume canonical events, write QBO tenants' invoices."""

from __future__ import annotations

from invoicesync.events import Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions
from invoicesync.kafka.publisher import Publisher
from invoicesync.service_main import run_service
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.writing.qbo_ledger import QBO_MAX_BATCH
from qbo_writer.handler import qbo_event_writer

GROUP_ID = "invoicesync-qbo-writer"


def build_loop(settings: Settings, *, group_id: str = GROUP_ID) -> ConsumerLoop:
    """The QBO writer consumer, wired to real Kafka, Redis and QBO; nothing connects yet.
    A backlog arrives in runs of up to 30 events of one tenant: one QBO batch request."""
    publisher = Publisher(settings)
    writer = qbo_event_writer(settings, redis_from_settings(settings), publisher)
    options = LoopOptions.for_service(
        settings, group_id, (Topic.CANONICAL_EVENTS,), max_run=QBO_MAX_BATCH
    )
    return ConsumerLoop(settings, options, writer.handle, publisher)


def main() -> None:
    run_service("qbo-writer", build_loop)


if __name__ == "__main__":
    main()
