"""The safety net: poll each ReverseSync tenant's ledger for payments changed since its cursor.

Xero sends no payment webhooks, so for Xero this is the way payments arrive (an INVOICE webhook
only brings the poll forward); for QBO, Change Data Capture catches what a webhook missed. The
cursor (the latest change seen, in Redis) starts at the tenant's ReverseSync start date; a
payment the recorder could not match yet is kept apart and tried again at every poll. Rounds
run as a periodic task of the worker's consumer loop; one replica polls at a time (a Redis
lock); each tenant's poll holds that tenant's own lock too, as the worker may poll early for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import redis

from invoicesync.domain.canonical import Destination
from invoicesync.errors import Disconnected, InvalidInput, Transient
from invoicesync.kafka.periodic_tasks import PeriodicTask, TenantOwnership
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.locks import tenant_lock
from invoicesync.stores.redis_connection import reply_text
from invoicesync.stores.tenants import TenantStore
from reverse_sync.keap_recorder import KeapPaymentRecorder
from reverse_sync.ledger_feeds import QboPaymentFeed, XeroPaymentFeed
from reverse_sync.ledger_payments import LedgerPayment

log = logging.getLogger(__name__)

POLLER_LOCK = "reverse-sync-poller"
TENANT_POLL_LOCK = "reverse-sync-poll"
LONGEST_TICK_SECONDS = 60.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


def cursor_key(tenant_id: str, destination: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:reverse-sync:cursor:{destination}"


def last_poll_key(tenant_id: str) -> str:
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

    # -- one tenant ------------------------------------------------------------------------

    def poll_tenant(self, tenant_id: str, *, lock_wait_seconds: float = 30.0) -> list[Outgoing]:
        """Record every payment changed since the tenant's cursor; returns the sync results.
        The cursor moves once the payments are dealt with (each is marked in Redis, so a
        result lost before publication never means a payment recorded twice)."""
        settings = self._tenants.settings(tenant_id)
        start = settings.sync.reverse_sync_start_date
        if not settings.sync.reverse_sync_enabled or start is None:
            return []
        destination = settings.destination.value
        with tenant_lock(self._redis, TENANT_POLL_LOCK, tenant_id, 600.0, lock_wait_seconds):
            cursor = self._cursor(tenant_id, destination) or datetime.combine(start, time(), UTC)
            seen = self._changed_since(tenant_id, settings.destination, cursor - self._overlap)
            kept = self._recorder.unresolved(tenant_id, settings.destination)
            outgoing: list[Outgoing] = []
            for item in kept + seen:
                outgoing += self._recorder.record(tenant_id, item, settings)
            latest = max((s.updated_at for s in seen if s.updated_at), default=None)
            if latest is not None and latest > cursor:
                self._redis.set(cursor_key(tenant_id, destination), latest.isoformat())
            self._redis.set(last_poll_key(tenant_id), self._clock().isoformat())
        log.info(
            "reverse-sync poll done",
            extra={"tenant_id": tenant_id, "seen": len(seen), "results": len(outgoing)},
        )
        return outgoing

    def _changed_since(
        self, tenant_id: str, destination: Destination, since: datetime
    ) -> list[LedgerPayment]:
        if destination is Destination.XERO:
            return self._xero.changed_since(tenant_id, since)
        return self._qbo.changed_since(tenant_id, since, self._clock())

    def _cursor(self, tenant_id: str, destination: str) -> datetime | None:
        raw = self._redis.get(cursor_key(tenant_id, destination))
        return datetime.fromisoformat(reply_text(raw)) if raw else None

    def due(self, tenant_id: str) -> bool:
        raw = self._redis.get(last_poll_key(tenant_id))
        return (
            raw is None or datetime.fromisoformat(reply_text(raw)) + self._interval <= self._clock()
        )

    # -- every tenant ----------------------------------------------------------------------

    def poll_due_tenants(self) -> list[Outgoing]:
        """One round over the tenants whose poll is due; one failing tenant stops no other."""
        outgoing: list[Outgoing] = []
        for tenant_id in self._tenants.ids():
            if not self.due(tenant_id):
                continue
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
        tick = min(self._interval.total_seconds(), LONGEST_TICK_SECONDS)
        return PeriodicTask(tick, self._locked_round, name="reverse-sync poll")

    def _locked_round(self, _owns_tenant: TenantOwnership) -> list[Outgoing]:
        try:
            with tenant_lock(self._redis, POLLER_LOCK, "all", ttl_seconds=900, wait_seconds=0):
                return self.poll_due_tenants()
        except Transient as exc:
            log.debug("poll round skipped", extra={"error": str(exc)})
            return []
