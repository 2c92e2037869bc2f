"""The QBO writer as a process on the real broker: SIGKILLed mid-batch and restarted, then the
whole topic replayed under a new consumer group, and QBO still holds each invoice once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.events import Topic
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.stores.redis_connection import redis_from_settings
from qbo_writer.main import build_loop
from tests.infrastructure import kafka_environment
from tests.integration.qbo_writer.corpus import (
    corpus_invoice,
    events_for,
    point_at_items,
    qbo_tenant,
)
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox, qbo_sandbox
from tests.waiting import DEADLINE_SECONDS, wait_for

INVOICES = 90


@pytest.fixture
def sandbox(settings):
    with qbo_sandbox(settings) as running:
        running.set_limits(False)
        yield running


def writer_process(sandbox: QboSandbox) -> subprocess.Popen:
    s = sandbox.settings
    env = {
        **os.environ,
        **kafka_environment(s),
        "REDIS_URL": s.redis_url,
        "INVOICESYNC_TOPIC_PREFIX": s.topic_prefix,
        "INVOICESYNC_TOPIC_PARTITIONS": str(s.topic_partitions),
        "INVOICESYNC_TOKEN_ENCRYPTION_KEY": s.token_encryption_key,
        "INVOICESYNC_QBO_API_BASE": s.qbo_api_base,
        "INVOICESYNC_QBO_TOKEN_URL": s.qbo_token_url,
        "INVOICESYNC_QBO_CLIENT_ID": s.qbo_client_id,
        "INVOICESYNC_QBO_CLIENT_SECRET": s.qbo_client_secret,
        "INVOICESYNC_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "qbo_writer.main"], env=env)


def count(sandbox: QboSandbox, realm: str, tenant_id: str) -> int:
    return len(sandbox.query(realm, tenant_id, "select * from Invoice maxresults 1000"))


def test_a_writer_killed_mid_batch_then_a_full_replay_leave_each_invoice_once(sandbox):
    client = redis_from_settings(sandbox.settings)
    tenant_id, _ = qbo_tenant(client)
    realm = sandbox.connect(tenant_id)
    settings = point_at_items(client, qbo_client_from_settings(sandbox.settings, client), tenant_id)
    publisher = Publisher(sandbox.settings)
    for number in range(INVOICES):
        invoice, _ = corpus_invoice("widgets", tenant_id, settings, number + 1)
        publisher.publish_all(
            [Outgoing(Topic.CANONICAL_EVENTS, e) for e in events_for(tenant_id, invoice, [])]
        )
    # Slow QBO down so a kill lands while a batch is in flight.
    requests.put(f"{sandbox.base_url}/_sandbox/faults", json={"latency_ms": 400}, timeout=5)
    process = writer_process(sandbox)
    try:
        assert wait_for(lambda: count(sandbox, realm, tenant_id) > 0)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        assert count(sandbox, realm, tenant_id) < INVOICES
        requests.put(f"{sandbox.base_url}/_sandbox/faults", json={"latency_ms": 0}, timeout=5)
        process = writer_process(sandbox)
        assert wait_for(lambda: count(sandbox, realm, tenant_id) >= INVOICES)
    finally:
        process.terminate()
        process.wait(20)
    # Everything again, from the start of the topic, under a consumer group of its own.
    loop = build_loop(sandbox.settings, group_id=f"replay-{tenant_id}")
    handled = 0
    deadline = time.monotonic() + DEADLINE_SECONDS
    while handled < INVOICES and time.monotonic() < deadline:
        handled += loop.poll_once()
    loop.close()
    assert handled >= INVOICES
    assert count(sandbox, realm, tenant_id) == INVOICES
    publisher.close()
