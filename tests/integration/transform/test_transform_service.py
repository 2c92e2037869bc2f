"""Transform end to end through the real broker: notification in, canonical events out."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer, TopicPartition

from invoicesync.domain.tenant_settings import TaxHandling
from invoicesync.events import (
    EventType,
    KeapNotification,
    NotificationSource,
    SyncAction,
    Topic,
    envelope_for,
    envelope_from_bytes,
    payload_of,
)
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import topic_name
from invoicesync.stores.held_notifications import HeldNotifications, release_held
from invoicesync.stores.tenants import TenantStore
from tests.integration.transform.keap_stand_in import create_tenant
from tests.waiting import DEADLINE_SECONDS, eventually

pytestmark = pytest.mark.infra

LINES = [
    {"name": "Widget", "quantity": 2, "item_type": "OTHER", "price_per_unit": 12.5},
    {"name": "Sales tax", "quantity": 1, "item_type": "TAX", "price_per_unit": 2},
]


class TopicReader:
    """Reads every partition of one topic from the beginning, without a consumer group."""

    def __init__(self, settings, topic: Topic) -> None:
        self._consumer = KafkaConsumer(**kafka_connection(settings))
        name = topic_name(topic, settings)
        numbers = eventually(lambda: self._consumer.partitions_for_topic(name), f"{name} metadata")
        partitions = [TopicPartition(name, p) for p in numbers]
        self._consumer.assign(partitions)
        self._consumer.seek_to_beginning(*partitions)
        self.seen = []

    def until(self, predicate, timeout: float = DEADLINE_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in self._consumer.poll(timeout_ms=50).values():
                self.seen += [envelope_from_bytes(record.value) for record in records]
            if predicate(self.seen):
                return self.seen
        raise AssertionError(f"timed out; saw {[e.type for e in self.seen]}")

    def close(self) -> None:
        self._consumer.close()


def notify(publisher: Publisher, tenant_id: str, object_type: str, object_id: str) -> None:
    notification = KeapNotification(
        object_type=object_type,
        object_id=object_id,
        source=NotificationSource.HOOK,
        observed_at=datetime.now(UTC),
        event_key=f"{object_type}.add",
    )
    envelope = envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant_id, notification)
    publisher.publish(Topic.KEAP_NOTIFICATIONS, envelope)


def invoices_for(order_id: str):
    def found(seen):
        return [
            e
            for e in seen
            if e.type is EventType.INVOICE_CANONICALISED and payload_of(e).keap_order_id == order_id
        ]

    return found


def test_a_keap_hook_becomes_canonical_events_and_a_replay_adds_none(service, redis_client):
    keap, publisher = service
    tenant_id = create_tenant(redis_client)
    keap.connect(tenant_id)
    warm_up, order, sentinel = (keap.order(LINES) for _ in range(3))
    keap.pay(order["id"], 10.00)
    events = TopicReader(keap.settings, Topic.CANONICAL_EVENTS)
    try:
        notify(publisher, tenant_id, "order", warm_up["id"])  # the group joins meanwhile
        events.until(lambda seen: invoices_for(warm_up["id"])(seen))

        started = time.perf_counter()
        notify(publisher, tenant_id, "invoice", order["invoice_id"])
        seen = events.until(
            lambda seen: any(e.type is EventType.PAYMENT_CANONICALISED for e in seen)
        )
        elapsed = time.perf_counter() - started
        print(f"\nhook to canonical events: {elapsed * 1000:.0f} ms")

        notify(publisher, tenant_id, "invoice", order["invoice_id"])  # Keap's retry, a replay
        notify(publisher, tenant_id, "order", order["id"])
        notify(publisher, tenant_id, "order", sentinel["id"])
        seen = events.until(lambda seen: invoices_for(sentinel["id"])(seen))
    finally:
        events.close()

    ours = [e for e in seen if e.tenant_id == tenant_id]
    assert [(e.type, payload_of(e).keap_invoice_id) for e in ours] == [
        (EventType.INVOICE_CANONICALISED, warm_up["invoice_id"]),
        (EventType.INVOICE_CANONICALISED, order["invoice_id"]),
        (EventType.PAYMENT_CANONICALISED, order["invoice_id"]),
        (EventType.INVOICE_CANONICALISED, sentinel["invoice_id"]),
    ]
    assert elapsed < 5.0


def test_an_order_with_nothing_paid_is_read_without_its_payment_rows(service, redis_client):
    keap, publisher = service
    tenant_id = create_tenant(redis_client)
    keap.connect(tenant_id)
    unpaid, paid = keap.order(LINES), keap.order(LINES)
    keap.pay(paid["id"], 10.00)
    events = TopicReader(keap.settings, Topic.CANONICAL_EVENTS)
    try:
        notify(publisher, tenant_id, "order", unpaid["id"])
        notify(publisher, tenant_id, "order", paid["id"])
        seen = events.until(
            lambda seen: invoices_for(unpaid["id"])(seen) and invoices_for(paid["id"])(seen)
        )
    finally:
        events.close()

    paths = [entry["path"] for entry in keap.control("GET", "/_sandbox/requests?limit=1000")]
    assert f"/crm/rest/v2/orders/{unpaid['id']}/payments" not in paths
    assert f"/crm/rest/v2/orders/{paid['id']}/payments" in paths
    paid_events = [e for e in seen if e.type is EventType.PAYMENT_CANONICALISED]
    assert [payload_of(e).keap_invoice_id for e in paid_events] == [str(paid["invoice_id"])]


def test_an_order_that_cannot_add_up_is_dead_lettered_and_reported_failed(service, redis_client):
    keap, publisher = service
    tenant_id = create_tenant(redis_client)
    store = TenantStore(redis_client)
    current = store.settings(tenant_id)
    store.save_settings(
        tenant_id,
        replace(current, keap=replace(current.keap, tax_handling=TaxHandling.INCLUSIVE)),
    )
    keap.connect(tenant_id)
    order = keap.order(LINES)
    dead_letters = TopicReader(keap.settings, Topic.DEAD_LETTERS)
    results = TopicReader(keap.settings, Topic.SYNC_RESULTS)
    try:
        notify(publisher, tenant_id, "order", order["id"])
        [dead] = dead_letters.until(lambda seen: seen)
        [failed] = results.until(lambda seen: seen)
    finally:
        dead_letters.close()
        results.close()

    assert dead.type is EventType.MESSAGE_DEAD_LETTERED and dead.tenant_id == tenant_id
    result = payload_of(failed)
    assert (result.action, result.object_type, result.keap_id) == (
        SyncAction.FAILED,
        "order",
        order["id"],
    )
    assert "Keap's total" in result.reason


def test_payment_rows_that_read_as_cents_are_dead_lettered_naming_total_paid_and_never_posted(
    service, redis_client
):
    keap, publisher = service
    tenant_id = create_tenant(redis_client)
    keap.connect(tenant_id)
    order, sentinel = keap.order(LINES), keap.order(LINES)
    keap.pay(order["id"], 10.00)
    # The spec's InvoiceOrderPayment example (10000) reads like cents: this order's rows do.
    keap.control(
        "PUT", f"/_sandbox/keap/orders/{order['id']}/money_units", {"order_payments": "minor"}
    )
    dead_letters = TopicReader(keap.settings, Topic.DEAD_LETTERS)
    results = TopicReader(keap.settings, Topic.SYNC_RESULTS)
    events = TopicReader(keap.settings, Topic.CANONICAL_EVENTS)
    try:
        notify(publisher, tenant_id, "order", order["id"])
        [dead] = dead_letters.until(lambda seen: [e for e in seen if e.tenant_id == tenant_id])
        [failed] = results.until(lambda seen: [e for e in seen if e.tenant_id == tenant_id])
        notify(publisher, tenant_id, "order", sentinel["id"])  # the tenant's next order passes
        seen = events.until(invoices_for(sentinel["id"]))
    finally:
        dead_letters.close()
        results.close()
        events.close()

    assert dead.type is EventType.MESSAGE_DEAD_LETTERED
    reason = payload_of(failed).reason
    assert payload_of(failed).action is SyncAction.FAILED
    assert "total_paid is 10.00 but its payment rows sum to 1000" in reason
    ours = [e for e in seen if e.tenant_id == tenant_id]
    assert [payload_of(e).keap_order_id for e in ours] == [sentinel["id"]]


def test_releasing_held_notifications_republishes_each_once_and_empties_the_hold(
    settings, redis_client, unique_name
):
    held = HeldNotifications(redis_client)
    for object_id in ("11", "12", "11"):
        notification = KeapNotification(
            object_type="invoice",
            object_id=object_id,
            source=NotificationSource.HOOK,
            observed_at=datetime.now(UTC),
        )
        held.hold(
            envelope_for(EventType.KEAP_CHANGE_NOTIFIED, unique_name, notification), notification
        )
    publisher = Publisher(settings)
    notifications = TopicReader(settings, Topic.KEAP_NOTIFICATIONS)
    try:
        released = release_held(redis_client, publisher, unique_name)
        seen = notifications.until(lambda seen: len(seen) >= 2)
        released_again = release_held(redis_client, publisher, unique_name)
    finally:
        notifications.close()
        publisher.close()

    assert released == 2 and released_again == 0
    assert sorted(payload_of(e).object_id for e in seen) == ["11", "12"]
    assert held.count(unique_name) == 0
