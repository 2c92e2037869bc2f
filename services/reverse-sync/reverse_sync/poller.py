"""The safety net: poll each ReverseSync tenant's ledger for payments changed since its cursor.

Xero sends no payment webhooks, so for Xero this is the way payments arrive (an INVOICE webhook
only brings the poll forward); for QBO, Change Data Capture catches what a webhook missed, and
any QBO webhook brings that read forward. Each poll is one ledger call per tenant (Xero: one
If-Modified-Since page of up to 100 payments; QBO: one CDC read), made through the clients and
so inside the shared limiter and the provider's daily budget, and counted for Health. The
cursor (the latest change seen, in Redis) starts at the tenant's ReverseSync start date; a
payment the recorder could not match yet is kept apart and tried again at every poll. Rounds
run as a periodic task of the worker's consumer loop; one replica polls at a time (a Redis
lock); each tenant's poll holds that tenant's own lock too, as the worker may poll early for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta

import redis

from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import Disconnected, InvalidInput, Transient
from invoicesync.kafka.periodic_tasks import PeriodicTask, TenantOwnership
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.ledger_watch import LedgerWatch
from invoicesync.stores.locks import tenant_lock
from invoicesync.stores.redis_connection import reply_text, stored_moments
from invoicesync.stores.tenants import TenantStore
from reverse_sync.keap_recorder import KeapPaymentRecorder
from reverse_sync.ledger_feeds import FeedReading, QboPaymentFeed, XeroPaymentFeed

log = logging.getLogger(__name__)

POLLER_LOCK = "reverse-sync-poller"
TENANT_POLL_LOCK = "reverse-sync-poll"
# Rounds come a tenth of the interval apart (within these bounds), so a tenant is polled at
# most a tenth late: a round as long as the interval would find a tenant polled at its start
# not yet due, and poll it only one round later, at twice the interval.
SHORTEST_TICK_SECONDS = 0.5
LONGEST_TICK_SECONDS = 15.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


def round_tick_seconds(interval_seconds: float) -> float:
    return min(max(interval_seconds / 10, SHORTEST_TICK_SECONDS), LONGEST_TICK_SECONDS)


def cursor_key(tenant_id: str, destination: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:reverse-sync:cursor:{destination}"


def last_poll_key(tenant_id: str) -> str:
    """When the tenant's last finished poll began (ISO-8601 UTC)."""
    return f"invoicesync:tenant:{tenant_id}:reverse-sync:last-poll"


class PaymentPoller:
    def __init__(
        self,
        client: redis.Redis,
        tenants: TenantStore,
        recorder: KeapPaymentRecorder,
        xero: XeroPaymentFeed,
        qbo: QboPaymentFeed,
        *,
        interval_seconds: float,
        overlap_seconds: float,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._redis = client
        self._tenants = tenants
        self._recorder = recorder
        self._xero = xero
        self._qbo = qbo
        self._interval = timedelta(seconds=interval_seconds)
        self._overlap = timedelta(seconds=overlap_seconds)
        self._clock = clock
        self._watch = LedgerWatch(client)

    # -- one tenant ------------------------------------------------------------------------

    def poll_tenant(
        self,
        tenant_id: str,
        *,
        lock_wait_seconds: float = 30.0,
        unless_polled_since: datetime | None = None,
        trigger: str = "schedule",
    ) -> list[Outgoing]:
        """Record every payment changed since the tenant's cursor; returns the sync results.
        The cursor moves once the payments are dealt with (each is marked in Redis, so a
        result lost before publication never means a payment recorded twice).

        `unless_polled_since`: nothing to do when a poll that began at or after that moment
        has finished (a webhook's catch-up, when a burst of webhooks or the schedule already
        looked after the change it announced). `trigger` (what asked for the poll: "schedule"
        or "webhook") goes into the log line, where operators see how payments arrive."""
        settings = self._tenants.settings(tenant_id)
        start = settings.sync.reverse_sync_start_date
        if not settings.sync.reverse_sync_enabled or start is None:
            return []
        destination = settings.destination.value
        with tenant_lock(self._redis, TENANT_POLL_LOCK, tenant_id, 600.0, lock_wait_seconds):
            last_started = self.last_poll_started(tenant_id)
            if unless_polled_since and last_started and last_started >= unless_polled_since:
                return []
            started = self._clock()
            cursor = self._cursor(tenant_id, destination) or datetime.combine(start, time(), UTC)
            reading = self._changed_since(tenant_id, settings.destination, cursor - self._overlap)
            self._watch.count_poll_calls(tenant_id, reading.calls, started)
            seen = reading.payments
            kept = self._recorder.unresolved(tenant_id, settings.destination)
            outgoing: list[Outgoing] = []
            for item in kept + seen:
                outgoing += self._recorder.record(tenant_id, item, settings)
            latest = max((s.updated_at for s in seen if s.updated_at), default=None)
            if latest is not None and latest > cursor:
                self._redis.set(cursor_key(tenant_id, destination), latest.isoformat())
            # When it began, not ended: what changed during the read may not be in it.
            self._redis.set(last_poll_key(tenant_id), started.isoformat())
        log.info(
            "reverse-sync poll done",
            extra={
                "tenant_id": tenant_id,
                "trigger": trigger,
                "seen": len(seen),
                "results": len(outgoing),
                "ledger_calls": reading.calls,
            },
        )
        return outgoing

    def _changed_since(
        self, tenant_id: str, destination: Destination, since: datetime
    ) -> FeedReading:
        if destination is Destination.XERO:
            return self._xero.changed_since(tenant_id, since)
        return self._qbo.changed_since(tenant_id, since, self._clock())

    def last_poll_started(self, tenant_id: str) -> datetime | None:
        """When the tenant's last finished poll began."""
        return self._last_polls_started([tenant_id])[tenant_id]

    def _last_polls_started(self, tenant_ids: Sequence[str]) -> dict[str, datetime | None]:
        keys = [last_poll_key(tenant_id) for tenant_id in tenant_ids]
        return dict(zip(tenant_ids, stored_moments(self._redis, keys), strict=True))

    def _cursor(self, tenant_id: str, destination: str) -> datetime | None:
        raw = self._redis.get(cursor_key(tenant_id, destination))
        return datetime.fromisoformat(reply_text(raw)) if raw else None

    def due_among(self, tenant_ids: Sequence[str]) -> list[str]:
        """Those of `tenant_ids` whose poll is due, read in one round trip."""
        now = self._clock()
        return [
            tenant_id
            for tenant_id, started in self._last_polls_started(tenant_ids).items()
            if started is None or started + self._interval <= now
        ]

    # -- every tenant ----------------------------------------------------------------------

    def due_tenants(self) -> list[str]:
        """The tenants with ReverseSync on whose poll is due, in two round trips however many
        there are. One with it off is never due: its poll would end before it began, and so
        never be marked done."""
        settings = self._tenants.settings_among(self._tenants.ids())
        polled = [tenant_id for tenant_id, kept in settings.items() if _reverse_sync_on(kept)]
        return self.due_among(polled)

    def poll_due_tenants(self) -> list[Outgoing]:
        """One round over the tenants whose poll is due; one failing tenant stops no other."""
        outgoing: list[Outgoing] = []
        for tenant_id in self.due_tenants():
            try:
                outgoing += self.poll_tenant(tenant_id, lock_wait_seconds=0.0)
            except (Transient, InvalidInput, Disconnected, KeyError) as exc:
                log.warning(
                    "reverse-sync poll failed", extra={"tenant_id": tenant_id, "error": repr(exc)}
                )
        return outgoing

    def round_task(self) -> PeriodicTask:
        """The poll as a task of the worker's consumer loop. Rounds are not tied to the loop's
        partitions: the replica holding the poller lock polls every due tenant."""
        tick = round_tick_seconds(self._interval.total_seconds())
        return PeriodicTask(tick, self._locked_round, name="reverse-sync poll")

    def _locked_round(self, _owns_tenant: TenantOwnership) -> list[Outgoing]:
        try:
            with tenant_lock(self._redis, POLLER_LOCK, "all", ttl_seconds=900, wait_seconds=0):
                return self.poll_due_tenants()
        except Transient as exc:
            log.debug("poll round skipped", extra={"error": str(exc)})
            return []


def _reverse_sync_on(settings: TenantSettings) -> bool:
    """ReverseSync is on, from a start date."""
    return settings.sync.reverse_sync_enabled and settings.sync.reverse_sync_start_date is not None
