"""`python -m qbo_writer.main`: consume canonical events, write QBO tenants' invoices."""

from __future__ import annotations

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.kafka.consumer_loop import ConsumerLoop
from invoicesync.service_main import run_service
from invoicesync.settings import Settings
from invoicesync.writing.writer_loop import WriterParts, writer_loop
from qbo_writer.handler import qbo_event_writer
from qbo_writer.qbo_ledger import QBO_MAX_BATCH

GROUP_ID = "invoicesync-qbo-writer"


def build_loop(settings: Settings, *, group_id: str = GROUP_ID) -> ConsumerLoop:
    """The QBO writer consumer, wired to real Kafka, Redis and QBO; nothing connects yet.
    A backlog arrives in runs of up to 30 events of one tenant: one QBO batch request."""
    parts = WriterParts.from_settings(settings)
    client = qbo_client_from_settings(settings, parts.redis)
    writer = qbo_event_writer(client, parts.id_map, parts.tenants, parts.redis)
    return writer_loop(settings, writer, parts, group_id=group_id, max_run=QBO_MAX_BATCH)


def main() -> None:
    run_service("qbo-writer", build_loop)


if __name__ == "__main__":
    main()
