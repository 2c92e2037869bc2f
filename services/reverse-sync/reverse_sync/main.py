"""`python -m reverse_sync.main`: the ledger-notification worker and its payment poll.

The worker consumes `ledger.notifications` through the one consumer loop; the poll is one of
that loop's periodic tasks (one replica at a time polls, under a Redis lock), so its sync results
go out through the loop's producer.
"""

from __future__ import annotations

from dataclasses import dataclass

from invoicesync.clients.keap import keap_client_from_settings
from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.crypto import TokenCipher
from invoicesync.events import Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.failure_policies import DeadLetterPolicy
from invoicesync.kafka.failure_reports import failed_sync_report
from invoicesync.kafka.publisher import Publisher
from invoicesync.service_main import run_service
from invoicesync.settings import Settings
from invoicesync.stores.access_tokens import access_tokens_from_settings
from invoicesync.stores.connection_health import (
    ConnectionHealthReader,
    health_policy_from_settings,
)
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import TokenStore
from reverse_sync.connection_refresher import IdleConnectionRefresher
from reverse_sync.handler import LedgerNotificationHandler
from reverse_sync.invoice_lookup import LedgerInvoiceLookup
from reverse_sync.keap_recorder import KeapPaymentRecorder
from reverse_sync.ledger_feeds import QboPaymentFeed, XeroPaymentFeed
from reverse_sync.poller import PaymentPoller
from reverse_sync.requested_payments import RequestedPaymentRecorder

GROUP_ID = "invoicesync-reverse-sync"


@dataclass
class ReverseSyncService:
    loop: ConsumerLoop
    poller: PaymentPoller
    connection_refresher: IdleConnectionRefresher

    def run(self) -> None:
        """Run the loop, and with it the poll, in this thread (it handles SIGTERM)."""
        self.loop.run()


def build_service(settings: Settings) -> ReverseSyncService:
    """The worker and the poller, wired to real Kafka, Redis and providers; nothing connects."""
    client = redis_from_settings(settings)
    publisher = Publisher(settings)
    tenants = TenantStore(client)
    keap = keap_client_from_settings(settings, client)
    xero_client = xero_client_from_settings(settings, client)
    qbo_client = qbo_client_from_settings(settings, client)
    id_map = IdMap(client, publisher, settings)
    lookup = LedgerInvoiceLookup(keap, xero_client, qbo_client, id_map)
    recorder = KeapPaymentRecorder(keap, id_map, client, lookup)
    poller = PaymentPoller(
        client,
        tenants,
        recorder,
        XeroPaymentFeed(xero_client),
        QboPaymentFeed(qbo_client),
        interval_seconds=settings.reverse_sync_poll_interval_seconds,
        overlap_seconds=settings.poll_overlap_seconds,
    )
    health = ConnectionHealthReader(
        client,
        TokenStore(client, TokenCipher(settings.token_encryption_key)),
        health_policy_from_settings(settings),
    )
    refresher = IdleConnectionRefresher(
        client,
        tenants,
        access_tokens_from_settings(settings, client),
        health,
        max_idle_days=settings.connection_refresh_max_idle_days,
        check_interval_seconds=settings.connection_refresh_check_seconds,
        health_interval_seconds=settings.connection_health_check_seconds,
    )
    requested = RequestedPaymentRecorder(tenants, xero_client, qbo_client, recorder)
    handler = LedgerNotificationHandler(tenants, poller, requested)
    # A ledger notification names its own ledger.
    report = failed_sync_report(lambda envelope: str(envelope.payload.get("destination", "")))
    options = LoopOptions.for_service(
        settings,
        GROUP_ID,
        (Topic.LEDGER_NOTIFICATIONS,),
        dead_letters=DeadLetterPolicy(reports=(report,)),
    )
    loop = ConsumerLoop(
        settings,
        options,
        one_at_a_time(handler),
        publisher,
        periodic=[poller.round_task(), refresher.round_task(), refresher.health_task()],
    )
    return ReverseSyncService(loop, poller, refresher)


def main() -> None:
    run_service("reverse-sync", build_service)


if __name__ == "__main__":
    main()
