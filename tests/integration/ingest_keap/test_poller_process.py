"""`python -m ingest.poller` as `make up` runs it: polls, runs backfills, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from invoicesync.domain.tenant_settings import StartPoint
from invoicesync.stores.backfill_jobs import BackfillJobs, JobStatus
from tests.integration.ingest_keap.keap_side import (
    ids_from,
    read_notifications,
    seed_orders,
    settings_environment,
)

pytestmark = pytest.mark.infra

REPOSITORY = Path(__file__).resolve().parents[3]


def test_the_poller_process_polls_runs_a_backfill_and_stops_on_sigterm(
    keap, tenant_id, settings, redis_client, tmp_path
):
    order_ids = seed_orders(keap, 4)
    job, _ = BackfillJobs(redis_client).start(tenant_id, StartPoint())
    process_settings = replace(keap.settings, poll_tick_seconds=0.2)
    log_path = tmp_path / "poller.log"
    with log_path.open("wb") as log:
        poller = subprocess.Popen(
            [sys.executable, "-m", "ingest.poller"],
            cwd=REPOSITORY,
            env={**os.environ, **settings_environment(process_settings)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        messages = read_notifications(settings, tenant_id, expected=8)
    finally:
        poller.send_signal(signal.SIGTERM)
        exit_code = poller.wait(timeout=20)

    assert exit_code == 0, log_path.read_text()
    assert sorted(ids_from(messages, "poll")) == sorted(order_ids)
    assert ids_from(messages, "backfill") == order_ids
    assert BackfillJobs(redis_client).get(job.id).status is JobStatus.DONE
