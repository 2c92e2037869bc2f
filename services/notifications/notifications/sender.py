"""The notification sender: per tenant, turn what is due in the outbox into one email.

Items leave the outbox only after the SMTP server accepted the email; a refused or unreachable
server leaves them in place and the tenant is retried later with backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import redis

from invoicesync.domain.digest import Addressee
from invoicesync.domain.monthly_reconciliation import monthly_reconciliation_email, report_link
from invoicesync.domain.tenant_settings import EmailMode
from invoicesync.errors import Transient
from invoicesync.kafka.periodic_tasks import PeriodicTask
from invoicesync.kafka.publisher import Outgoing
from invoicesync.notification_summaries import Mailer, TenantDirectory, addressee_for
from invoicesync.settings import Settings
from invoicesync.stores.locks import Lease
from invoicesync.stores.monthly_reports import MonthlyReports
from invoicesync.stores.notification_outbox import DeliveryState, NotificationOutbox
from notifications.options import NotificationOptions
from notifications.schedule import due_delivery

log = logging.getLogger(__name__)


# Exactly one replica sends notification emails at a time.
SENDER_LEASE = "notifications-sender"


class NotificationSender:
    def __init__(
        self,
        settings: Settings,
        outbox: NotificationOutbox,
        tenants: TenantDirectory,
        mailer: Mailer,
        options: NotificationOptions,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monthly_reports: MonthlyReports | None = None,
    ) -> None:
        self._settings = settings
        self._monthly = monthly_reports
        self._outbox = outbox
        self._tenants = tenants
        self._mailer = mailer
        self._options = options
        self._clock = clock

    def send_due(self, still_leading: Callable[[], bool] = lambda: True) -> int:
        """One pass over the tenants with queued results; returns the emails sent."""
        sent = 0
        for tenant_id in self._outbox.tenants_waiting():
            if not still_leading():
                break
            try:
                sent += self._send_due_for(tenant_id)
            except (Transient, redis.RedisError):
                raise  # Redis is down for everyone: the whole pass waits
            except Exception:  # noqa: BLE001 - one tenant's bad data must not silence the others
                log.exception("notifications for a tenant failed", extra={"tenant_id": tenant_id})
        return sent

    def send_monthly_reports(self, still_leading: Callable[[], bool] = lambda: True) -> int:
        """Email each monthly reconciliation the admin has made; returns the emails sent. A
        report the SMTP server refuses stays for the next pass."""
        monthly = self._monthly
        if monthly is None:
            return 0
        sent = 0
        for report in monthly.ready():
            if not still_leading():
                break
            tenant = self._tenants.get(report.tenant_id)
            settings = self._tenants.settings(report.tenant_id)
            recipient = settings.sync.notification_email.strip()
            if tenant is None or not recipient or not settings.sync.monthly_reconciliation_email:
                monthly.remove(report)
                continue
            base_url = self._settings.public_base_url
            content = monthly_reconciliation_email(
                addressee_for(tenant, settings, base_url),
                report.first,
                report.last,
                report.totals,
                report_link(base_url, tenant.id, report.job_id),
            )
            try:
                self._mailer.send(recipient, content)
            except Transient as exc:
                log.warning(
                    "monthly reconciliation email not sent; will retry",
                    extra={"tenant_id": tenant.id, "error": str(exc)},
                )
                continue
            monthly.remove(report)
            log.info("monthly reconciliation email sent", extra={"tenant_id": tenant.id})
            sent += 1
        return sent

    def _send_due_for(self, tenant_id: str) -> int:
        items = self._outbox.pending(tenant_id)
        tenant = self._tenants.get(tenant_id)
        if not items or tenant is None:
            self._outbox.remove(tenant_id, [item.entry_id for item in items])
            return 0
        tenant_settings = self._tenants.settings(tenant_id)
        recipient = tenant_settings.sync.notification_email.strip()
        if not recipient:
            log.info(
                "no notification address; results not emailed",
                extra={"tenant_id": tenant_id, "dropped": len(items)},
            )
            self._outbox.remove(tenant_id, [item.entry_id for item in items])
            return 0
        now = self._clock()
        addressee = addressee_for(tenant, tenant_settings, self._settings.public_base_url)
        state = self._daily_mode_noted(tenant_id, tenant_settings.sync.email_mode, now, addressee)
        delivery = due_delivery(tenant_settings.sync, items, state, now, addressee, self._options)
        if delivery is None:
            return 0
        if delivery.content is not None:
            try:
                self._mailer.send(recipient, delivery.content)
            except Transient as exc:
                delay = self._options.retry_delay(state.failures + 1)
                failures = self._outbox.record_failure(tenant_id, now + timedelta(seconds=delay))
                log.warning(
                    "notification email not sent; will retry",
                    extra={"tenant_id": tenant_id, "failures": failures, "error": str(exc)},
                )
                return 0
            self._outbox.record_sent(tenant_id, now, daily_on=delivery.daily_on)
            log.info(
                "notification email sent",
                extra={"tenant_id": tenant_id, "results": len(delivery.items)},
            )
        self._outbox.remove(tenant_id, delivery.entry_ids)
        return 0 if delivery.content is None else 1

    def _daily_mode_noted(
        self, tenant_id: str, mode: EmailMode, now: datetime, addressee: Addressee
    ) -> DeliveryState:
        """Remember when the tenant was first seen in daily mode (its first summary goes the
        day after), and forget it once the tenant is in the other mode."""
        state = self._outbox.delivery_state(tenant_id)
        if mode is not EmailMode.DAILY:
            if state.daily_since is not None or state.last_daily_on is not None:
                self._outbox.forget_daily(tenant_id)
            return state
        if state.daily_since is not None:
            return state
        since = now
        if state.last_daily_on is not None:  # daily before this was recorded: keep its rhythm
            midnight = datetime.combine(state.last_daily_on, time(), ZoneInfo(addressee.timezone))
            since = midnight.astimezone(UTC)
        self._outbox.record_daily_since(tenant_id, since)
        return replace(state, daily_since=since)


class SenderLoop:
    """Every tick, the replica holding the lease sends what is due."""

    def __init__(
        self, sender: NotificationSender, lease: Lease, options: NotificationOptions
    ) -> None:
        self._sender = sender
        self._lease = lease
        self._options = options

    def tick(self) -> int:
        """One pass if this replica holds the lease; returns the emails sent."""
        if not self._lease.hold():
            return 0
        sent = self._sender.send_due(still_leading=self._lease.hold)
        return sent + self._sender.send_monthly_reports(still_leading=self._lease.hold)

    def as_task(self) -> PeriodicTask:
        """The sender as a periodic task of the outbox consumer's loop. Sending is not tied to
        the loop's partitions: the lease decides which replica sends."""
        return PeriodicTask(
            self._options.tick_seconds,
            lambda _owns_tenant: self._tick_logging_failures(),
            name="notification sender",
            on_stop=self._lease.release,
        )

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop`, for a process that sends without consuming (the `send` role)."""
        log.info("notification sender started")
        try:
            while not stop.is_set():
                self._tick_logging_failures()
                stop.wait(self._options.tick_seconds)
        finally:
            self._lease.release()
            log.info("notification sender stopped")

    def _tick_logging_failures(self) -> list[Outgoing]:
        try:
            self.tick()
        except (Transient, redis.RedisError) as exc:
            log.warning("sender pass failed", extra={"error": str(exc)})
        return []
