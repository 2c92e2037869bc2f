"""The backfill runner through the Keap stand-in, real Kafka and Redis, in-process and as a
process killed half-way and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.backfill_runner import BackfillRunner
from invoicesync.domain.tenant_settings import StartPoint, StartPointKind
from invoicesync.kafka.publisher import Publisher
from invoicesync.stores.backfill_jobs import BackfillJobs, JobStatus
from tests.integration.ingest_keap.keap_side import (
    ids_from,
    read_notifications,
    seed_orders,
    settings_environment,
)
from tests.waiting import eventually

pytestmark = pytest.mark.infra

REPOSITORY = Path(__file__).resolve().parents[3]


def run_until_idle(runner_settings, redis_client) -> None:
    BackfillRunner.from_settings(runner_settings, redis_client).run(
        threading.Event(), exit_when_idle=True
    )


def test_a_backfill_from_an_invoice_id_publishes_that_invoice_and_everything_newer(
    keap, tenant_id, settings, redis_client
):
    order_ids = seed_orders(keap, 7)
    start_order = keap.client().get_order(tenant_id, order_ids[2])
    jobs = BackfillJobs(redis_client)
    job, _ = jobs.start(
        tenant_id, StartPoint(StartPointKind.INVOICE_ID, invoice_id=int(start_order.invoice_id))
    )

    run_until_idle(replace(keap.settings, backfill_page_size=2), redis_client)
    messages = read_notifications(settings, tenant_id, expected=5)

    done = jobs.get(job.id)
    assert (done.status, done.published, done.pages_done) == (JobStatus.DONE, 5, 3)
    assert done.cursor == order_ids[-1]
    assert ids_from(messages, "backfill") == order_ids[2:]


def test_a_backfill_from_a_date_skips_orders_created_before_it(
    keap, tenant_id, settings, redis_client
):
    keap.control("POST", "/_sandbox/clock", {"advance_seconds": -3 * 86_400})
    seed_orders(keap, 3)
    keap.control("POST", "/_sandbox/clock", {"reset": True})
    recent = seed_orders(keap, 2)
    jobs = BackfillJobs(redis_client)
    job, _ = jobs.start(
        tenant_id, StartPoint(StartPointKind.DATE, on_date=datetime.now(UTC).date())
    )

    run_until_idle(keap.settings, redis_client)

    assert jobs.get(job.id).status is JobStatus.DONE
    assert ids_from(read_notifications(settings, tenant_id, expected=2), "backfill") == recent


def test_a_start_invoice_keap_does_not_know_fails_the_job(keap, tenant_id, redis_client):
    jobs = BackfillJobs(redis_client)
    job, _ = jobs.start(tenant_id, StartPoint(StartPointKind.INVOICE_ID, invoice_id=987_654))

    run_until_idle(keap.settings, redis_client)

    failed = jobs.get(job.id)
    assert failed.status is JobStatus.FAILED and "987654" in failed.error


def start_runner(runner_settings, log_path: Path) -> subprocess.Popen:
    environment = {**os.environ, **settings_environment(runner_settings)}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "ingest.backfill_runner", "--exit-when-idle"],
            cwd=REPOSITORY,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_a_2000_invoice_backfill_killed_half_way_resumes_and_publishes_every_invoice_once(
    keap, tenant_id, settings, redis_client, tmp_path
):
    """ "Once" under at-least-once delivery: every order is published, the job counts exactly
    2,000 (it counts only pages whose cursor it recorded), and the only repeats are orders of
    the one page in flight at the kill — published, but killed before its cursor was recorded."""
    page_size, total = 100, 2000
    order_ids = seed_orders(keap, total)
    # Slow each page a little, so that the kill lands half-way and not after the end.
    keap.control(
        "PUT", "/_sandbox/faults", {"latency_ms": 40, "endpoints": ["/crm/rest/v2/orders"]}
    )
    runner_settings = replace(
        keap.settings, backfill_page_size=page_size, backfill_lease_seconds=2.0
    )
    jobs = BackfillJobs(redis_client)
    job, _ = jobs.start(tenant_id, StartPoint())
    log_path = tmp_path / "runner.log"

    first = start_runner(runner_settings, log_path)

    def five_pages_done() -> bool:
        assert first.poll() is None, log_path.read_text()
        return (jobs.get(job.id).pages_done or 0) >= 5

    eventually(five_pages_done, "five pages of the backfill", step=0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    at_kill = jobs.get(job.id)
    eventually(lambda: jobs.claimable(job.id), "the dead runner's lease to run out")
    second = start_runner(runner_settings, log_path)
    assert second.wait(timeout=120) == 0, log_path.read_text()

    done = jobs.get(job.id)
    published = Counter(
        ids_from(read_notifications(settings, tenant_id, expected=total), "backfill")
    )
    repeated = sorted((i for i, count in published.items() if count > 1), key=int)
    after_kill_cursor = [i for i in order_ids if int(i) > int(at_kill.cursor)]

    assert at_kill.status is JobStatus.RUNNING and at_kill.pages_done < total // page_size
    assert (done.status, done.published) == (JobStatus.DONE, total)
    assert set(published) == set(order_ids)
    assert set(published.values()) <= {1, 2}
    assert len(repeated) <= page_size
    assert repeated == after_kill_cursor[: len(repeated)]


class RunnerDiesAfterPublishing(BackfillJobs):
    """The job store as a runner sees it when it dies between Kafka's ack and the record."""

    def __init__(self, client, pages_before_death: int) -> None:
        super().__init__(client)
        self._pages_left = pages_before_death

    def record_page(self, job_id, cursor, published, **kwargs):
        if self._pages_left == 0:
            raise SystemExit("runner killed")
        self._pages_left -= 1
        return super().record_page(job_id, cursor, published, **kwargs)


def test_a_page_published_but_not_recorded_is_the_only_one_published_again(
    keap, tenant_id, settings, redis_client
):
    order_ids = seed_orders(keap, 10)
    runner_settings = replace(keap.settings, backfill_page_size=3, backfill_lease_seconds=0.3)
    job, _ = BackfillJobs(redis_client).start(tenant_id, StartPoint())
    dying = BackfillRunner(
        runner_settings,
        RunnerDiesAfterPublishing(redis_client, pages_before_death=2),
        keap.client(),
        Publisher(runner_settings),
    )
    with pytest.raises(SystemExit):
        dying.run_next()
    dying.close()
    eventually(lambda: BackfillJobs(redis_client).claimable(job.id), "the lease to run out")

    run_until_idle(runner_settings, redis_client)

    done = BackfillJobs(redis_client).get(job.id)
    published = Counter(ids_from(read_notifications(settings, tenant_id, expected=13), "backfill"))
    assert (done.status, done.published) == (JobStatus.DONE, 10)
    assert set(published) == set(order_ids)
    assert sorted((i for i, n in published.items() if n == 2), key=int) == order_ids[6:9]
