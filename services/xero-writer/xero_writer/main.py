"""`python -m xero_writer.main`: canonical events of Xero tenants → Xero, results → sync.results."""

from __future__ import annotations

from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.events import Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import ensure_topics
from invoicesync.logging import configure_logging
from invoicesync.settings import Settings
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from xero_writer.handler import xero_event_writer

GROUP_ID = "invoicesync-xero-writer"
# A backlog reaches the handler in runs of up to this many events of one tenant: one PUT each.
MAX_RUN = 50


def build_loop(settings: Settings, group_id: str = GROUP_ID) -> ConsumerLoop:
    """The xero-writer consumer, wired to real Kafka, Redis and Xero; nothing connects yet."""
    client = redis_from_settings(settings)
    publisher = Publisher(settings)
    writer = xero_event_writer(
        xero_client_from_settings(settings, client),
        IdMap(client, publisher, settings),
        TenantStore(client),
        client,
    )
    options = LoopOptions(
        group_id=group_id,
        topics=(Topic.CANONICAL_EVENTS,),
        max_run=MAX_RUN,
        max_attempts=settings.consumer_max_attempts,
        backoff_seconds=settings.consumer_backoff_seconds,
        backoff_max_seconds=settings.consumer_backoff_max_seconds,
    )
    return ConsumerLoop(settings, options, writer.handle, publisher)


def main() -> None:
    settings = Settings.from_env()
    configure_logging("xero-writer", settings.log_level)
    ensure_topics(settings)
    build_loop(settings).run()


if __name__ == "__main__":
    main()
