"""Keep quiet connections alive: refresh every connection not refreshed for N days, and tell
the tenant (activity log, notification email) of a connection about to lapse or lost.

A tenant with no traffic never needs a fresh access token, so nothing refreshes its tokens,
and Xero refresh tokens expire after 60 days unused (shared/reference/xero.md §1, §9 gotcha 3).
A periodic round of this worker's loop refreshes each connected connection (Keap and the
ledger) whose refresh token is older than `max_idle_days`; one replica runs it (a Redis lock),
and each refresh takes the connection's own refresh lock as every refresh does. The same round
reads each connection's health and publishes a failed sync result (object type `connection`)
for each risk worth an email the first time it is seen (stores/connection_health.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis

from invoicesync.errors import Disconnected, InvalidInput, Transient
from invoicesync.events import SyncAction
from invoicesync.kafka.periodic_tasks import PeriodicTask, TenantOwnership
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.connection_health import ConnectionHealthReader
from invoicesync.stores.locks import tenant_lock
from invoicesync.stores.tenants import TenantStore
from invoicesync.writing.outcomes import sync_result

log = logging.getLogger(__name__)

REFRESHER_LOCK = "connection-refresher"
CONNECTION = "connection"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IdleConnectionRefresher:
    def __init__(
        self,
        client: redis.Redis,
        tenants: TenantStore,
        access_tokens: AccessTokens,
        health: ConnectionHealthReader,
        *,
        max_idle_days: int,
        check_interval_seconds: float,
        health_interval_seconds: float = 60.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._redis = client
        self._tenants = tenants
        self._tokens = access_tokens
        self._health = health
        self._max_idle = timedelta(days=max_idle_days)
        self._interval = check_interval_seconds
        self._health_interval = health_interval_seconds
        self._clock = clock

    def refresh_idle_connections(self) -> int:
        """Refresh every idle connection; returns how many were refreshed. A lost connection
        is marked as such (the console shows it) and stops no other."""
        renewed_before = self._clock() - self._max_idle
        refreshed = 0
        for tenant_id in self._tenants.ids():
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                continue
            for provider in ("keap", tenant.destination.value):
                try:
                    refreshed += self._tokens.refresh_if_idle(provider, tenant_id, renewed_before)
                except Disconnected:
                    continue  # never connected, or lost: nothing to keep alive
                except (Transient, InvalidInput) as exc:
                    log.warning(
                        "idle connection refresh failed; retried next round",
                        extra={"tenant_id": tenant_id, "provider": provider, "error": str(exc)},
                    )
        if refreshed:
            log.info("idle connections refreshed", extra={"count": refreshed})
        return refreshed

    def health_notices(self) -> list[Outgoing]:
        """A failed sync result for each connection risk worth an email, once per risk: the
        activity log records it and the notifications outbox mails it."""
        now = self._clock()
        notices: list[Outgoing] = []
        for tenant_id in self._tenants.ids():
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                continue
            for provider in ("keap", tenant.destination.value):
                try:
                    health = self._health.health(provider, tenant_id, now)
                except (Transient, InvalidInput, LookupError, ValueError) as exc:
                    # A connection stored under a retired key, or half-written: skipped.
                    log.warning(
                        "connection health unreadable",
                        extra={"tenant_id": tenant_id, "provider": provider, "error": str(exc)},
                    )
                    continue
                for risk in health.risks:
                    if not risk.notified or not self._health.first_notice(
                        tenant_id, provider, risk
                    ):
                        continue
                    reason = f"exception: {risk.kind.value}: {risk.message}"
                    notices.append(
                        sync_result(
                            tenant_id,
                            provider,
                            CONNECTION,
                            provider,
                            SyncAction.FAILED,
                            self._clock,
                            reason=reason,
                        )
                    )
        if notices:
            log.info("connection health notices", extra={"count": len(notices)})
        return notices

    def round_task(self) -> PeriodicTask:
        return PeriodicTask(self._interval, self._locked_round, name="idle connection refresh")

    def health_task(self) -> PeriodicTask:
        """Health notices more often than refreshes: an alert (a lost refresh answer) should
        reach the tenant within a minute or so, and reading health costs only Redis reads."""
        return PeriodicTask(
            self._health_interval, self._locked_notices, name="connection health notices"
        )

    def _locked_round(self, _owns_tenant: TenantOwnership) -> list[Outgoing]:
        try:
            with tenant_lock(self._redis, REFRESHER_LOCK, "all", ttl_seconds=900, wait_seconds=0):
                self.refresh_idle_connections()
                return self.health_notices()
        except Transient as exc:
            log.debug("idle connection refresh skipped", extra={"error": str(exc)})
        return []

    def _locked_notices(self, _owns_tenant: TenantOwnership) -> list[Outgoing]:
        try:
            with tenant_lock(self._redis, REFRESHER_LOCK, "all", ttl_seconds=900, wait_seconds=0):
                return self.health_notices()
        except Transient as exc:
            log.debug("connection health notices skipped", extra={"error": str(exc)})
        return []
