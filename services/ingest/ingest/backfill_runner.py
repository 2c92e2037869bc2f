"""The backfill runner: claims queued backfill jobs, pages through Keap's orders from the job's
start point in id order and publishes one notification per order, recording progress and the
resume cursor (the last order id published) only after Kafka acknowledged each page.

It runs as a thread of `python -m ingest.poller`, or alone: `python -m ingest.backfill_runner`.
Any number may run: a job belongs to the runner holding its lease, and a job whose runner died
is taken over from its cursor once the lease ran out.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from ingest.keap_order_notices import order_notices
from invoicesync.clients.keap import KeapClient, keap_client_from_settings
from invoicesync.domain.tenant_settings import StartPoint, StartPointKind
from invoicesync.errors import InvalidInput, Transient
from invoicesync.events import NotificationSource
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import ensure_topics
from invoicesync.logging import configure_logging
from invoicesync.settings import Settings
from invoicesync.stores.backfill_jobs import BackfillJob, BackfillJobs, JobStatus
from invoicesync.stores.redis_connection import redis_from_settings

log = logging.getLogger(__name__)

BACKFILL_EVENT_KEY = "order.backfill"
IDLE_WAIT_SECONDS = 2.0


class JobTakenOver(Exception):
    """The job's lease ran out and another runner holds it now."""


def start_filter(keap: KeapClient, tenant_id: str, start: StartPoint) -> str | None:
    """The Keap v2 order filter for everything from the start point on."""
    if start.kind is StartPointKind.INVOICE_ID and start.invoice_id is not None:
        order = keap.find_order_by_invoice(tenant_id, str(start.invoice_id))
        if order is None:
            raise InvalidInput(f"start invoice {start.invoice_id} is not in Keap")
        return f"id>={order.id}"
    if start.kind is StartPointKind.DATE and start.on_date is not None:
        return f"created_since_time=={start.on_date.isoformat()}T00:00:00Z"
    return None


def page_filter(start: str | None, cursor: str | None) -> str | None:
    """Resume after the last order published: `id>cursor` survives restarts, unlike a token."""
    parts = [part for part in (start, f"id>{cursor}" if cursor else None) if part]
    return ";".join(parts) or None


class BackfillRunner:
    def __init__(
        self,
        settings: Settings,
        jobs: BackfillJobs,
        keap: KeapClient,
        publisher: Publisher,
        *,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._jobs = jobs
        self._keap = keap
        self._publisher = publisher
        self._worker_id = worker_id or uuid.uuid4().hex
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis) -> BackfillRunner:
        return cls(
            settings,
            BackfillJobs(client),
            keap_client_from_settings(settings, client),
            Publisher(settings),
        )

    def run_next(self, stop: threading.Event | None = None) -> BackfillJob | None:
        """Claim one job and run it to its end (or until `stop`); None when none is waiting."""
        job = self._jobs.claim_next(self._worker_id, self._settings.backfill_lease_seconds)
        if job is None:
            return None
        log.info(
            "backfill claimed",
            extra={"tenant_id": job.tenant_id, "job_id": job.id, "cursor": job.cursor},
        )
        try:
            return self._run(job, stop or threading.Event())
        except InvalidInput as exc:
            log.error("backfill failed", extra={"tenant_id": job.tenant_id, "error": str(exc)})
            return self._jobs.fail(job.id, str(exc))
        except JobTakenOver:
            log.warning("backfill taken over", extra={"tenant_id": job.tenant_id})
            return self._jobs.get(job.id)
        except Transient as exc:
            # The job stays running under its lease; when that runs out it is claimed again
            # and resumes from its cursor.
            log.warning("backfill paused", extra={"tenant_id": job.tenant_id, "error": str(exc)})
            return self._jobs.get(job.id)

    def _run(self, job: BackfillJob, stop: threading.Event) -> BackfillJob:
        start = start_filter(self._keap, job.tenant_id, job.start)
        cursor = job.cursor
        while not stop.is_set():
            page = self._keap.list_orders(
                job.tenant_id,
                order_by="id asc",
                filter=page_filter(start, cursor),
                page_size=self._settings.backfill_page_size,
            )
            if page.items:
                self._require_ours(job.id)
                self._publisher.publish_all(
                    order_notices(
                        job.tenant_id,
                        page.items,
                        NotificationSource.BACKFILL,
                        BACKFILL_EVENT_KEY,
                        self._clock(),
                    )
                )
                cursor = page.items[-1].id
                job = self._jobs.record_page(
                    job.id,
                    cursor,
                    len(page.items),
                    lease_seconds=self._settings.backfill_lease_seconds,
                )
            if not page.next_page_token:
                log.info(
                    "backfill done",
                    extra={"tenant_id": job.tenant_id, "published": job.published},
                )
                return self._jobs.finish(job.id)
        return job

    def _require_ours(self, job_id: str) -> None:
        current = self._jobs.get(job_id)
        if current is None or current.status is not JobStatus.RUNNING:
            raise JobTakenOver(job_id)
        if current.claimed_by != self._worker_id:
            raise JobTakenOver(job_id)

    def close(self) -> None:
        self._publisher.close()

    def run(self, stop: threading.Event, *, exit_when_idle: bool = False) -> None:
        """Run jobs until `stop` (or, with `exit_when_idle`, until none is waiting)."""
        try:
            while not stop.is_set():
                try:
                    job = self.run_next(stop)
                except Exception as exc:  # noqa: BLE001 - Redis or Kafka away: try again
                    log.warning("backfill claim failed", extra={"error": repr(exc)})
                    job = None
                if job is None:
                    if exit_when_idle:
                        return
                    stop.wait(IDLE_WAIT_SECONDS)
        finally:
            self.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ingest.backfill_runner")
    parser.add_argument("--exit-when-idle", action="store_true", help="stop once no job is waiting")
    arguments = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging("backfill-runner", settings.log_level)
    ensure_topics(settings)
    client = redis_from_settings(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    BackfillRunner.from_settings(settings, client).run(
        stop, exit_when_idle=arguments.exit_when_idle
    )


if __name__ == "__main__":
    main()
