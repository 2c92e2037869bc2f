"""`python -m xero_writer.main`: canonical events of Xero tenants → Xero, results → sync.results."""

from __future__ import annotations

from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.kafka.consumer_loop import ConsumerLoop
from invoicesync.service_main import run_service
from invoicesync.settings import Settings
from invoicesync.writing.writer_loop import WriterParts, writer_loop
from xero_writer.handler import xero_event_writer

GROUP_ID = "invoicesync-xero-writer"
# A backlog reaches the handler in runs of up to this many events of one tenant: one PUT each.
MAX_RUN = 50


def build_loop(settings: Settings, group_id: str = GROUP_ID) -> ConsumerLoop:
    """The xero-writer consumer, wired to real Kafka, Redis and Xero; nothing connects yet."""
    parts = WriterParts.from_settings(settings)
    client = xero_client_from_settings(settings, parts.redis)
    writer = xero_event_writer(client, parts.id_map, parts.tenants, parts.redis)
    return writer_loop(settings, writer, parts, group_id=group_id, max_run=MAX_RUN)


def main() -> None:
    run_service("xero-writer", build_loop)


if __name__ == "__main__":
    main()
