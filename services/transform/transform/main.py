"""`python -m transform.main`: consume Keap notifications, publish canonical events."""

from __future__ import annotations

from invoicesync.clients.keap import keap_client_from_settings
from invoicesync.events import Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions
from invoicesync.service_main import run_service
from invoicesync.settings import Settings
from invoicesync.stores.held_notifications import HeldNotifications
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from transform.handler import TransformHandler
from transform.publication_marks import PublicationMarks
from transform.publisher import TransformPublisher

GROUP_ID = "invoicesync-transform"


def build_loop(settings: Settings) -> ConsumerLoop:
    """The transform consumer, wired to real Kafka, Redis and Keap; nothing connects yet."""
    client = redis_from_settings(settings)
    tenants = TenantStore(client)
    marks = PublicationMarks(client)
    handler = TransformHandler(
        keap_client_from_settings(settings, client),
        tenants,
        marks,
        HeldNotifications(client),
    )
    publisher = TransformPublisher(
        settings, marks, lambda tenant_id: _destination(tenants, tenant_id)
    )
    options = LoopOptions.for_service(settings, GROUP_ID, (Topic.KEAP_NOTIFICATIONS,))
    return ConsumerLoop(settings, options, handler.handle, publisher)


def _destination(tenants: TenantStore, tenant_id: str) -> str:
    tenant = tenants.get(tenant_id)
    return tenant.destination.value if tenant is not None else "unknown"


def main() -> None:
    run_service("transform", build_loop)


if __name__ == "__main__":
    main()
