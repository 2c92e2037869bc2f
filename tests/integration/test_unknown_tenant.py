"""One behaviour for a message naming a tenant we do not have: every consumer dead-letters it,
once and at once, so it can be replayed if the tenant comes back (design: nothing lost)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer

from invoicesync.crypto import generate_key
from invoicesync.events import (
    EventType,
    KeapNotification,
    LedgerNotification,
    NotificationSource,
    Topic,
    envelope_for,
)
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import topic_name
from invoicesync.stores.locks import lock_key
from qbo_writer.main import build_loop as qbo_writer_loop
from reverse_sync.main import build_service as reverse_sync_service
from reverse_sync.poller import POLLER_LOCK
from tests.integration.kafka.test_consumer_loop import publish
from tests.unit.domain.canonical_builders import invoice, product
from tests.waiting import DEADLINE_SECONDS
from transform.main import build_loop as transform_loop
from xero_writer.main import build_loop as xero_writer_loop

pytestmark = pytest.mark.infra


def _keap_notified(tenant_id):
    notification = KeapNotification(
        object_type="order",
        object_id="1",
        source=NotificationSource.HOOK,
        observed_at=datetime.now(UTC),
    )
    return envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant_id, notification)


def _invoice_canonicalised(tenant_id):
    canonical = replace(invoice(product("10.00")), tenant_id=tenant_id)
    return envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)


def _ledger_notified(tenant_id):
    notification = LedgerNotification(
        destination="qbo",
        entity="payment",
        entity_id="7",
        source=NotificationSource.HOOK,
        observed_at=datetime.now(UTC),
    )
    return envelope_for(EventType.LEDGER_CHANGE_NOTIFIED, tenant_id, notification)


SERVICES = {
    "transform": (transform_loop, Topic.KEAP_NOTIFICATIONS, _keap_notified),
    "xero-writer": (xero_writer_loop, Topic.CANONICAL_EVENTS, _invoice_canonicalised),
    "qbo-writer": (qbo_writer_loop, Topic.CANONICAL_EVENTS, _invoice_canonicalised),
    "reverse-sync": (
        lambda settings: reverse_sync_service(settings).loop,
        Topic.LEDGER_NOTIFICATIONS,
        _ledger_notified,
    ),
}


def _dead_letters(settings, timeout: float = 0.5) -> list[dict]:
    consumer = KafkaConsumer(
        topic_name(Topic.DEAD_LETTERS, settings),
        **kafka_connection(settings),
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(timeout * 1000),
    )
    try:
        return [json.loads(record.value) for record in consumer]
    finally:
        consumer.close()


@pytest.fixture
def no_ledger_poll_round(redis_client):
    """Reverse-sync's periodic poll round would poll every tenant of the shared Redis: not here."""
    round_lock = redis_client.lock(lock_key(POLLER_LOCK, "all"), timeout=600)
    round_lock.acquire()
    yield
    round_lock.release()


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_consumer_dead_letters_a_message_for_an_unknown_tenant_at_once(
    settings, unique_name, service, no_ledger_poll_round
):
    build, topic, event = SERVICES[service]
    settings = replace(settings, token_encryption_key=generate_key())
    loop = build(settings)
    publish(settings, [event(unique_name)], topic=topic)
    letters: list[dict] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while not letters:
            assert time.monotonic() < deadline, f"{service} dead-lettered nothing in time"
            loop.poll_once()
            letters = _dead_letters(settings)
    finally:
        loop.close()

    [letter] = letters
    assert letter["tenant_id"] == unique_name
    assert letter["payload"]["error"]["type"] == "UnknownTenant"
    assert letter["payload"]["attempts"] == 1
