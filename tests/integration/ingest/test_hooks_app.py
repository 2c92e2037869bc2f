"""The Keap hook receiver through the real Kafka and Redis."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ingest.hooks_app import create_app
from ingest.outage_recoveries import OutageRecoveries
from invoicesync.domain.canonical import Destination
from invoicesync.events import Topic
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from tests.infrastructure import free_port
from tests.integration.topic_reading import read_topic
from tests.waiting import eventually


def read_notifications(settings, expected: int) -> list[dict]:
    return read_topic(settings, Topic.KEAP_NOTIFICATIONS, expected)


def delivery(event_key: str, *ids: int, timestamp: str = "2026-01-01T12:00:00.000Z") -> dict:
    return {
        "event_key": event_key,
        "object_type": event_key.split(".")[0],
        "object_keys": [{"id": i, "apiUrl": "", "timestamp": timestamp} for i in ids],
    }


@pytest.fixture
def tenant(settings):
    client = redis_from_settings(settings)
    yield TenantStore(client).create("Acme", Destination.XERO)
    client.close()


@pytest.fixture
def hooks(settings):
    return create_app(settings, publish_timeout_seconds=5).test_client()


def test_the_handshake_echoes_the_secret_header(hooks, tenant):
    response = hooks.post(
        f"/hooks/keap/{tenant.hook_token}", headers={"X-Hook-Secret": "s3cret-value"}
    )

    assert response.status_code == 200
    assert response.headers["X-Hook-Secret"] == "s3cret-value"


def test_an_unknown_token_is_404(hooks, tenant):
    response = hooks.post("/hooks/keap/not-a-token", json=delivery("invoice.add", 1))

    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


def test_one_delivery_sent_three_times_publishes_one_notification_per_id(hooks, tenant, settings):
    body = delivery("invoice.edit", 11, 12, 13)

    answers = [hooks.post(f"/hooks/keap/{tenant.hook_token}", json=body) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    messages = read_notifications(settings, 3)
    assert sorted(m["payload"]["object_id"] for m in messages) == ["11", "12", "13"]
    assert {m["tenant_id"] for m in messages} == {tenant.id}
    assert {m["payload"]["object_type"] for m in messages} == {"invoice"}
    assert {m["payload"]["source"] for m in messages} == {"hook"}


def test_event_keys_decide_what_the_ids_are(hooks, tenant, settings):
    hooks.post(f"/hooks/keap/{tenant.hook_token}", json=delivery("order.add", 7))
    hooks.post(f"/hooks/keap/{tenant.hook_token}", json=delivery("invoice.payment.add", 8))
    ignored = hooks.post(f"/hooks/keap/{tenant.hook_token}", json=delivery("contact.edit", 9))

    messages = read_notifications(settings, 2)
    assert {m["payload"]["object_id"]: m["payload"]["object_type"] for m in messages} == {
        "7": "order",
        "8": "payment",
    }
    assert ignored.status_code == 200
    assert ignored.get_json()["published"] == 0


def test_kafka_down_is_503_and_keaps_retry_is_published_once(settings, tenant):
    unreachable = replace(settings, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    down = create_app(unreachable, publish_timeout_seconds=1).test_client()
    up = create_app(settings, publish_timeout_seconds=5).test_client()
    body = delivery("invoice.add", 42)

    failed = down.post(f"/hooks/keap/{tenant.hook_token}", json=body)
    retried = up.post(f"/hooks/keap/{tenant.hook_token}", json=body)
    again = up.post(f"/hooks/keap/{tenant.hook_token}", json=body)

    assert failed.status_code == 503
    assert failed.get_json()["error"]["status"] == 503
    assert failed.headers["Retry-After"] == "60"
    assert retried.status_code == 200
    assert again.status_code == 200
    messages = read_notifications(settings, 1)
    assert [m["payload"]["object_id"] for m in messages] == ["42"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"object_keys": [{"id": 1}]}, "event_key"),
        ({"event_key": "invoice.add", "object_keys": []}, "object_keys"),
        ({"event_key": "invoice.add", "object_keys": [{"id": "abc"}]}, "object_keys.0.id"),
        (
            {"event_key": "invoice.add", "object_keys": [{"id": i} for i in range(1, 1002)]},
            "object_keys",
        ),
    ],
)
def test_a_malformed_delivery_is_400_naming_the_field(hooks, tenant, body, field):
    response = hooks.post(f"/hooks/keap/{tenant.hook_token}", json=body)

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_a_body_that_is_not_json_is_400(hooks, tenant):
    response = hooks.post(
        f"/hooks/keap/{tenant.hook_token}", data="nope", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "body"


def test_a_body_over_the_limit_is_413(settings, tenant):
    small = create_app(replace(settings, hook_body_limit_bytes=200)).test_client()

    response = small.post(
        f"/hooks/keap/{tenant.hook_token}", json=delivery("invoice.add", *range(1, 100))
    )

    assert response.status_code == 413


def test_redis_away_still_publishes_every_delivery_and_records_the_recovery(settings, own_redis):
    own = replace(settings, redis_url=own_redis.address)
    client = redis_from_settings(own)
    tenant = TenantStore(client).create("Acme", Destination.XERO)
    hooks = create_app(own, publish_timeout_seconds=5).test_client()
    body = delivery("order.add", 7, 8)

    own_redis.stop()
    try:
        first = hooks.post(f"/hooks/keap/{tenant.hook_token}", json=body)
        again = hooks.post(f"/hooks/keap/{tenant.hook_token}", json=body)  # Keap's duplicate
        unknown = hooks.post("/hooks/keap/never-seen-token", json=body)
    finally:
        own_redis.start()
    recoveries = OutageRecoveries(client)
    eventually(lambda: len(recoveries.pending()) == 1, "the end of the Redis outage recorded")
    messages = read_notifications(settings, 4)
    print(f"answers {first.status_code} {again.status_code} {unknown.status_code}")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json()["published"] == 2
    assert unknown.status_code == 503 and unknown.headers["Retry-After"]
    # De-duplication moved downstream (transform's content hash): both copies are published.
    assert sorted(m["payload"]["object_id"] for m in messages) == ["7", "7", "8", "8"]
    client.close()


def test_a_rotated_token_is_refused_by_a_worker_that_knew_it(hooks, tenant, settings):
    known = hooks.post(f"/hooks/keap/{tenant.hook_token}", json=delivery("order.add", 51))
    client = redis_from_settings(settings)
    old_token, rotated = TenantStore(client).rotate_hook_token(tenant.id)
    client.close()

    refused = hooks.post(f"/hooks/keap/{old_token}", json=delivery("order.add", 52))
    accepted = hooks.post(f"/hooks/keap/{rotated.hook_token}", json=delivery("order.add", 53))

    assert known.status_code == 200
    assert refused.status_code == 404
    assert accepted.status_code == 200
    assert sorted(m["payload"]["object_id"] for m in read_notifications(settings, 2)) == [
        "51",
        "53",
    ]
