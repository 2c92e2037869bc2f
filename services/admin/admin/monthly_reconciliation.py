"""The monthly reconciliation of each opted-in tenant: on the 1st, at the tenant's summary hour
in its time zone, reconcile the previous month and leave the totals for the notification
sender, which emails them (`invoicesync.stores.monthly_reports`). It runs as a periodic task
of the activity consumer; a lease keeps it to one replica."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from admin.admin_services import AdminServices
from admin.reconciliation import (
    ReconciliationJob,
    ReconciliationJobs,
    report_of,
    resume_in_background,
    start_reconciliation,
)
from invoicesync.domain.monthly_reconciliation import due_monthly_slot
from invoicesync.errors import Transient
from invoicesync.kafka.periodic_tasks import PeriodicTask
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.locks import Lease
from invoicesync.stores.monthly_reports import MonthlyReport, MonthlyReports

log = logging.getLogger(__name__)

MONTHLY_LEASE = "monthly-reconciliations"
TICK_SECONDS = 60.0


class MonthlyReconciliations:
    """`run_job` advances a started job: on a thread of its own by default (a period's pages
    may take minutes within the providers' limits), so a tick never blocks its loop."""

    def __init__(
        self,
        services: AdminServices,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        run_job: Callable[[AdminServices, ReconciliationJob], object] = resume_in_background,
    ) -> None:
        self._services = services
        self._reports = MonthlyReports(services.redis)
        self._jobs = ReconciliationJobs(services.redis)
        self._clock = clock
        self._run_job = run_job

    def tick(self) -> int:
        """One pass over the tenants; returns the reports left for the sender."""
        queued = 0
        for tenant_id in self._services.tenants.ids():
            try:
                queued += self._advance(tenant_id)
            except (Transient, redis.RedisError):
                raise
            except Exception:  # noqa: BLE001 - one tenant's failure must not stop the others
                log.exception("monthly reconciliation failed", extra={"tenant_id": tenant_id})
        return queued

    def _advance(self, tenant_id: str) -> int:
        settings = self._services.tenants.settings(tenant_id)
        sync = settings.sync
        if not (sync.monthly_reconciliation_email and sync.notification_email.strip()):
            if self._reports.enabled_since(tenant_id) is not None:
                self._reports.forget(tenant_id)
            return 0
        now = self._clock()
        since = self._reports.enabled_since(tenant_id)
        if since is None:
            self._reports.record_enabled_since(tenant_id, now)
            since = now
        slot = due_monthly_slot(
            now,
            hour=sync.daily_summary_hour,
            timezone=settings.keap.timezone,
            enabled_since=since,
            last_month=self._reports.last_month(tenant_id),
        )
        if slot is None:
            return 0
        job_id = self._reports.job_for(tenant_id, slot.month)
        job = self._jobs.get(tenant_id, job_id) if job_id else None
        if job is None or job.status == "failed":
            if job is not None:
                log.warning(
                    "monthly reconciliation failed; starting again",
                    extra={"tenant_id": tenant_id, "error": job.error},
                )
            job = start_reconciliation(self._services, tenant_id, *slot.period)
            self._reports.record_job(tenant_id, slot.month, job.id)
        if job.status == "running":
            self._run_job(self._services, job)
            job = self._jobs.get(tenant_id, job.id) or job
        if job.status != "done":
            return 0
        first, last = slot.period
        totals = report_of(self._services, job).totals
        self._reports.queue(MonthlyReport(tenant_id, slot.month, first, last, job.id, totals))
        log.info("monthly reconciliation made", extra={"tenant_id": tenant_id, "job": job.id})
        return 1

    def as_task(self, lease: Lease) -> PeriodicTask:
        def tick(_owns_tenant) -> list[Outgoing]:
            try:
                if lease.hold():
                    self.tick()
            except (Transient, redis.RedisError) as exc:
                log.warning("monthly reconciliation pass failed", extra={"error": str(exc)})
            return []

        return PeriodicTask(
            TICK_SECONDS, tick, name="monthly reconciliations", on_stop=lease.release
        )
