"""`python -m transform.main`: consume Keap notifications, publish canonical events."""

from __future__ import annotations

from invoicesync.clients.keap import keap_client_from_settings
from invoicesync.events import Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions
from invoicesync.kafka.failure_policies import DeadLetterPolicy
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.tenant_workers import handler_per_thread
from invoicesync.service_main import run_service
from invoicesync.settings import Settings
from invoicesync.stores.held_notifications import HeldNotifications
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from transform.failures import failed_notification_report
from transform.handler import TransformHandler
from transform.invoice_orders import InvoiceOrders
from transform.publication_marks import PublicationMarks

GROUP_ID = "invoicesync-transform"
# A tenant's notifications handled (and published) together: a held tenant's whole poll in one
# round trip; a Keap rate limit or outage sets at most this many aside to be read again.
MAX_RUN = 50


def build_loop(settings: Settings) -> ConsumerLoop:
    """The transform consumer, wired to real Kafka, Redis and Keap; nothing connects yet."""
    client = redis_from_settings(settings)
    tenants = TenantStore(client)
    marks = PublicationMarks(client)
    keap = keap_client_from_settings(settings, client)
    held = HeldNotifications(client)
    invoice_orders = InvoiceOrders()
    options = LoopOptions.for_service(
        settings,
        GROUP_ID,
        (Topic.KEAP_NOTIFICATIONS,),
        max_run=MAX_RUN,
        dead_letters=DeadLetterPolicy(reports=(failed_notification_report(tenants),)),
        concurrent_tenants=settings.concurrent_tenants,
    )
    return ConsumerLoop(
        settings,
        options,
        # A handler keeps what its run has read: one per worker thread, sharing the rest.
        handler_per_thread(
            lambda: (
                TransformHandler(keap, tenants, marks, held, invoice_orders=invoice_orders).handle
            )
        ),
        Publisher(settings),
        # Last-published marks are written only once the broker has the events they claim.
        after_publish=lambda outgoing: marks.apply(item.envelope for item in outgoing),
    )


def main() -> None:
    run_service("transform", build_loop)


if __name__ == "__main__":
    main()
