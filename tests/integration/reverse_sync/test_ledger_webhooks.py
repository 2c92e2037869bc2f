"""The webhook app over real HTTP and the real broker: forged or unsigned bodies are refused
before anything is read, signed ones are published for the tenant the organisation belongs to."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
import requests
from kafka import KafkaConsumer, TopicPartition

from invoicesync.domain.canonical import Destination
from invoicesync.events import Topic, envelope_from_bytes, payload_of
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import topic_name
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import connection_key
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from reverse_sync.webhook_app import create_app
from reverse_sync.webhook_signatures import hmac_sha256_base64
from tests.integration.stores.local_servers import serving
from tests.waiting import eventually

pytestmark = pytest.mark.infra

XERO_KEY = "xero-key"
VERIFIER = "qbo-verifier"


@pytest.fixture
def webhooks(settings):
    wired = replace(settings, xero_webhook_key=XERO_KEY, qbo_webhook_verifier_token=VERIFIER)
    with serving(create_app(wired)) as url:
        yield url


def _published(settings) -> list:
    name = topic_name(Topic.LEDGER_NOTIFICATIONS, settings)
    consumer = KafkaConsumer(**kafka_connection(settings), group_id=None)
    try:
        # The first metadata request may still be in flight: an empty answer is not "no topic".
        numbers = eventually(lambda: consumer.partitions_for_topic(name), f"metadata of {name}")
        partitions = [TopicPartition(name, p) for p in numbers]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records = []
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for batch in consumer.poll(timeout_ms=500).values():
                records += [envelope_from_bytes(r.value) for r in batch]
        return records
    finally:
        consumer.close()


def _connected(redis_client, provider: str, external_id: str) -> str:
    tenant = TenantStore(redis_client).create("Books", Destination(provider))
    redis_client.hset(connection_key(provider, tenant.id), "external_id", external_id)
    return tenant.id


def _xero_event(org: str, category: str, event_type: str, resource_id: str) -> dict:
    collection = {"INVOICE": "Invoices", "CONTACT": "Contacts"}[category]
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/{collection}/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": "2026-03-10T10:00:00.000",
        "eventType": event_type,
        "eventCategory": category,
        "tenantId": org,
        "tenantType": "ORGANISATION",
    }


def _xero_body(org: str, events: list[dict] | None = None) -> bytes:
    events = events or [_xero_event(org, "INVOICE", "UPDATE", "inv-1")]
    body = {
        "events": events,
        "firstEventSequence": 1,
        "lastEventSequence": len(events),
        "entropy": "X",
    }
    return json.dumps(body).encode()


def _signed_to_xero_route(webhooks: str, body: bytes) -> requests.Response:
    """`body` posted as Xero posts it, signed with the configured webhook key."""
    return requests.post(
        f"{webhooks}/webhooks/xero",
        data=body,
        headers={"x-xero-signature": hmac_sha256_base64(XERO_KEY, body)},
        timeout=5,
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-xero-signature": "bm90IGEgc2lnbmF0dXJl"}, {"x-xero-signature": ""}],
    ids=["unsigned", "forged", "empty"],
)
def test_an_unsigned_or_forged_xero_webhook_is_refused_and_nothing_is_published(
    webhooks, settings, redis_client, unique_name, headers, caplog
):
    _connected(redis_client, "xero", unique_name)
    with caplog.at_level(logging.WARNING):
        reply = requests.post(
            f"{webhooks}/webhooks/xero", data=_xero_body(unique_name), headers=headers, timeout=5
        )

    assert reply.status_code == 401
    assert "webhook signature rejected" in caplog.messages
    assert _published(settings) == []


def test_a_xero_body_signed_with_another_key_is_refused(webhooks, settings):
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"A"}'
    reply = requests.post(
        f"{webhooks}/webhooks/xero",
        data=body,
        headers={"x-xero-signature": hmac_sha256_base64("another-key", body)},
        timeout=5,
    )
    assert (reply.status_code, reply.content) == (401, b"")  # Xero: an empty 401


def test_xeros_intent_to_receive_activates_the_subscription(webhooks):
    with serving(create_xero_app()) as xero:
        requests.put(
            f"{xero}/_sandbox/xero/webhooks",
            json={"url": f"{webhooks}/webhooks/xero", "key": XERO_KEY},
            timeout=5,
        ).raise_for_status()

        def judged() -> dict | None:
            state = requests.get(f"{xero}/_sandbox/xero/webhooks", timeout=5).json()
            return state if state["intent_checks"] == 2 else None

        state = eventually(judged, "Xero's two intent-to-receive checks")
    assert (state["active"], state["intent_failures"]) == (True, 0)


def test_intent_to_receive_with_the_right_signature_gets_an_empty_200(webhooks, settings):
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"B"}'
    reply = _signed_to_xero_route(webhooks, body)
    assert (reply.status_code, reply.content) == (200, b"")
    assert "Set-Cookie" not in reply.headers


def test_a_signed_xero_event_is_published_for_the_tenant_connected_to_that_organisation(
    webhooks, settings, redis_client, unique_name
):
    tenant_id = _connected(redis_client, "xero", unique_name)
    body = _xero_body(unique_name)

    reply = _signed_to_xero_route(webhooks, body)

    assert reply.status_code == 200
    [envelope] = _published(settings)
    notification = payload_of(envelope)
    assert envelope.tenant_id == tenant_id
    assert (notification.destination, notification.entity, notification.entity_id) == (
        "xero",
        "invoice",
        "inv-1",
    )


def test_only_xero_events_that_may_mean_a_payment_changed_are_published(
    webhooks, settings, redis_client, unique_name
):
    """A new invoice and its new contact (what every invoice the forward sync writes sets off)
    cannot carry a payment yet: they are answered, not published."""
    _connected(redis_client, "xero", unique_name)
    body = _xero_body(
        unique_name,
        [
            _xero_event(unique_name, "CONTACT", "CREATE", "contact-1"),
            _xero_event(unique_name, "INVOICE", "CREATE", "inv-new"),
            _xero_event(unique_name, "INVOICE", "UPDATE", "inv-paid"),
        ],
    )

    reply = _signed_to_xero_route(webhooks, body)

    assert reply.status_code == 200
    published = [payload_of(envelope) for envelope in _published(settings)]
    assert [(n.entity, n.entity_id, n.operation) for n in published] == [
        ("invoice", "inv-paid", "update")
    ]


def test_a_forged_qbo_webhook_is_refused_and_a_signed_one_published(
    webhooks, settings, redis_client, unique_name
):
    tenant_id = _connected(redis_client, "qbo", unique_name)
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "e1",
                "type": "qbo.payment.created.v1",
                "time": "2026-03-10T10:00:00Z",
                "intuitentityid": "77",
                "intuitaccountid": unique_name,
                "data": {},
            }
        ]
    ).encode()

    forged = requests.post(
        f"{webhooks}/webhooks/qbo",
        data=body,
        headers={"intuit-signature": hmac_sha256_base64("guess", body)},
        timeout=5,
    )
    assert forged.status_code == 401
    assert _published(settings) == []

    signed = requests.post(
        f"{webhooks}/webhooks/qbo",
        data=body,
        headers={"intuit-signature": hmac_sha256_base64(VERIFIER, body)},
        timeout=5,
    )
    assert signed.status_code == 200
    [envelope] = _published(settings)
    assert envelope.tenant_id == tenant_id
    assert payload_of(envelope).entity_id == "77"
