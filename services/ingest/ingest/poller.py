"""The hourly poll safety net (`python -m ingest.poller`): for each tenant with processing on,
list the Keap orders modified since its cursor (minus an overlap for clock skew) and the sales
payments newer than its payment cursor, and publish one notification per order and payment.
One replica polls at a time; every replica runs a backfill runner. When the hook receiver
records the end of an outage, every tenant is due at once: its hook subscriptions re-verified
and Keap polled from its cursor over what Keap may have dropped meanwhile.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis

from ingest.backfill_runner import BackfillRunner
from ingest.keap_order_notices import order_notices, payment_notices
from ingest.keap_poll_cursor import PollCursors
from ingest.outage_recoveries import OutageRecoveries
from invoicesync.clients.keap import (
    KeapClient,
    keap_client_from_settings,
    payment_sequence_number,
)
from invoicesync.domain.keap_order import KeapPayment
from invoicesync.errors import InvalidInput, Transient
from invoicesync.events import NotificationSource
from invoicesync.hook_subscriptions import HookSubscriptions
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import ensure_topics
from invoicesync.logging import configure_logging
from invoicesync.metrics import serve_metrics
from invoicesync.settings import Settings
from invoicesync.stores.locks import Lease
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore

log = logging.getLogger(__name__)

POLL_EVENT_KEY = "order.modified"
PAYMENT_POLL_EVENT_KEY = "invoice.payment.listed"
POLL_PAGE_SIZE = 1000


# Exactly one replica polls Keap at a time.
POLLER_LEASE = "keap-poller"


class LeaseLost(Exception):
    """Another replica took over the poll while this one was working."""


@dataclass(frozen=True)
class TenantPoll:
    """One tenant's poll: how many orders and payments were published, where the cursors stand."""

    tenant_id: str
    published: int
    pages: int
    cursor: datetime | None
    payments_published: int = 0
    payment_cursor: int | None = None


class KeapPoller:
    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        keap: KeapClient,
        publisher: Publisher,
        *,
        hooks: HookSubscriptions | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._tenants = TenantStore(client)
        self._cursors = PollCursors(client)
        self._lease = Lease(client, POLLER_LEASE, settings.poll_lease_seconds)
        self._keap = keap
        self._publisher = publisher
        self._hooks = hooks
        self._clock = clock
        self._recoveries = OutageRecoveries(client)

    def due_tenants(self) -> list[str]:
        """Tenants with processing on whose last poll is at least one interval old."""
        now = self._clock()
        interval = timedelta(seconds=self._settings.poll_interval_seconds)
        enabled = self._tenants.processing_enabled_among(self._tenants.ids())
        last_polls = self._cursors.last_polled_among(enabled)
        return [
            tenant_id
            for tenant_id in enabled
            if (last := last_polls[tenant_id]) is None or now - last >= interval
        ]

    def run_once(self) -> list[TenantPoll] | None:
        """Poll every due tenant if this replica leads; None while another replica does."""
        if not self._lease.hold():
            return None
        self._after_outages()
        polls = []
        for tenant_id in self.due_tenants():
            self._check_hooks(tenant_id)
            try:
                polls.append(self.poll_tenant(tenant_id))
            except LeaseLost:
                log.warning("poller lease lost mid-cycle", extra={"tenant_id": tenant_id})
                return polls
            except (Transient, InvalidInput) as exc:
                # Its last poll stays old, so the next tick tries this tenant again.
                log.warning("keap poll failed", extra={"tenant_id": tenant_id, "error": str(exc)})
        return polls

    def _after_outages(self) -> None:
        """An outage the hook receiver met is over: every tenant is due now, not in an hour."""
        pending = self._recoveries.pending()
        if not pending:
            return
        tenants = self._tenants.processing_enabled_among(self._tenants.ids())
        for tenant_id in tenants:
            self._cursors.forget_last_poll(tenant_id)
        self._recoveries.acted_on(len(pending))
        log.warning(
            "outage over: hooks re-verified and Keap polled for every tenant now",
            extra={
                "outage_started": min(r.started for r in pending).isoformat(),
                "tenants": len(tenants),
            },
        )

    def poll_tenant(self, tenant_id: str) -> TenantPoll:
        started = self._clock()
        cursor = self._cursors.cursor(tenant_id)
        # A first poll looks back one interval; history is the backfill's job.
        since = cursor or started - timedelta(seconds=self._settings.poll_interval_seconds)
        since -= timedelta(seconds=self._settings.poll_overlap_seconds)
        published, pages = self._publish_modified_since(tenant_id, since)
        # Keap moves no order for a payment, so payments are polled in their own right.
        payments = self._publish_new_payments(tenant_id, since)
        self._cursors.mark_polled(tenant_id, started)
        tenant_poll = TenantPoll(
            tenant_id,
            published,
            pages,
            self._cursors.cursor(tenant_id),
            payments,
            self._cursors.payment_cursor(tenant_id),
        )
        log.info(
            "keap poll done",
            extra={
                "tenant_id": tenant_id,
                "published": published,
                "pages": pages,
                "payments_published": payments,
            },
        )
        return tenant_poll

    def _publish_new_payments(self, tenant_id: str, since: datetime) -> int:
        """Publish sales payments above the payment cursor, page by page, lowest id first.

        The first poll has no cursor: it takes Keap's newest payment id before looking back
        (by `since_time`) over the order poll's window, and the cursor becomes that id, so a
        payment made meanwhile is above it and the next poll publishes it.
        """
        after = self._cursors.payment_cursor(tenant_id)
        if after is None:
            newest = self._keap.newest_payment_id(tenant_id)
            published = self._publish_payments_since(tenant_id, since)
            self._cursors.advance_payments(tenant_id, newest)
            return published
        published = 0
        while True:
            if not self._lease.hold():
                raise LeaseLost(tenant_id)
            page = self._keap.list_payments_after(tenant_id, after, page_size=POLL_PAGE_SIZE)
            published += self._publish_payments(tenant_id, page.items)
            if not page.items:
                return published
            after = max(payment_sequence_number(payment) for payment in page.items)
            if not page.next_page_token:
                return published

    def _publish_payments_since(self, tenant_id: str, since: datetime) -> int:
        published, token = 0, None
        while True:
            page = self._keap.list_payments_since(tenant_id, since, token, page_size=POLL_PAGE_SIZE)
            published += self._publish_payments(tenant_id, page.items, advance=False)
            if not page.next_page_token:
                return published
            token = page.next_page_token

    def _publish_payments(
        self, tenant_id: str, payments: Sequence[KeapPayment], *, advance: bool = True
    ) -> int:
        if not payments:
            return 0
        self._publisher.publish_all(
            payment_notices(
                tenant_id, payments, NotificationSource.POLL, PAYMENT_POLL_EVENT_KEY, self._clock()
            )
        )
        if advance:  # only now that Kafka acknowledged them may the cursor pass them
            newest = max(payment_sequence_number(payment) for payment in payments)
            self._cursors.advance_payments(tenant_id, newest)
        return len(payments)

    def _publish_modified_since(self, tenant_id: str, since: datetime) -> tuple[int, int]:
        published = pages = 0
        token: str | None = None
        while True:
            if not self._lease.hold():
                raise LeaseLost(tenant_id)
            page = self._keap.list_orders_modified_since(
                tenant_id, since, token, page_size=POLL_PAGE_SIZE
            )
            self._publisher.publish_all(
                order_notices(
                    tenant_id, page.items, NotificationSource.POLL, POLL_EVENT_KEY, self._clock()
                )
            )
            published, pages = published + len(page.items), pages + 1
            stamps = [o.modification_time for o in page.items if o.modification_time is not None]
            newest = max(stamps, default=None)
            if newest is not None:
                # Only now that Kafka acknowledged the page may the cursor pass it.
                self._cursors.advance(tenant_id, newest)
            if not page.next_page_token:
                return published, pages
            if newest is not None and newest > since:
                # Restart from the newest change seen rather than an offset: orders modified
                # while we page move to the end of the list and would shift offsets past us.
                since, token = newest, None
            else:
                token = page.next_page_token  # a full page of one instant: step past it

    def _check_hooks(self, tenant_id: str) -> None:
        if self._hooks is None:
            return
        try:
            self._hooks.ensure(tenant_id)
        except (Transient, InvalidInput) as exc:
            log.warning("keap hook check failed", extra={"tenant_id": tenant_id, "error": str(exc)})

    def close(self) -> None:
        self._lease.release()
        self._publisher.close()

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop`: lead and poll when due, otherwise wait for the leader's lease."""
        try:
            while not stop.is_set():
                try:
                    self.run_once()
                except Exception as exc:  # noqa: BLE001 - Redis or Kafka away: the next tick
                    log.warning("keap poll cycle failed", extra={"error": repr(exc)})
                stop.wait(self._settings.poll_tick_seconds)
        finally:
            self.close()


def build_poller(settings: Settings, client: redis.Redis) -> KeapPoller:
    keap = keap_client_from_settings(settings, client)
    hooks = HookSubscriptions(keap, TenantStore(client), client, settings.hooks_base_url)
    return KeapPoller(settings, client, keap, Publisher(settings), hooks=hooks)


def main() -> None:
    settings = Settings.from_env()
    configure_logging("ingest-poller", settings.log_level)
    serve_metrics(settings)
    ensure_topics(settings)
    client = redis_from_settings(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runner = BackfillRunner.from_settings(settings, client)
    runner_thread = threading.Thread(target=runner.run, args=(stop,), name="backfill-runner")
    runner_thread.start()
    try:
        build_poller(settings, client).run(stop)
    finally:
        stop.set()
        runner_thread.join()


if __name__ == "__main__":
    main()
