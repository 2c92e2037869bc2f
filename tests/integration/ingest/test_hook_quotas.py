"""The hook receiver's guards against one tenant flooding it, through the real Kafka and Redis."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ingest.hooks_app import create_app
from invoicesync.domain.canonical import Destination
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from tests.integration.ingest.test_hooks_app import delivery, read_notifications


@pytest.fixture
def tenants(settings):
    client = redis_from_settings(settings)
    store = TenantStore(client)
    yield store.create("Flooder", Destination.XERO), store.create("Quiet", Destination.XERO)
    client.close()


@pytest.mark.parametrize(
    ("object_id", "words"),
    [
        (int("9" * 51), "too long"),
        ("9" * 51, "too long"),
        (2**63, "too long"),
        ("12a", "digits only"),
        ("１２", "digits only"),  # full-width digits: str.isdigit() says yes, Keap would not
        (1.5, "whole number"),
        (0, "at least 1"),
    ],
)
def test_an_id_keap_could_never_have_is_400_naming_it(settings, tenants, object_id, words):
    hooks = create_app(settings, publish_timeout_seconds=5).test_client()
    body = {"event_key": "order.edit", "object_keys": [{"id": 5}, {"id": object_id}]}

    response = hooks.post(f"/hooks/keap/{tenants[0].hook_token}", json=body)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "object_keys.1.id"
    assert words in str(error["fields"])


def test_the_largest_int64_id_is_accepted(settings, tenants):
    hooks = create_app(settings, publish_timeout_seconds=5).test_client()

    response = hooks.post(
        f"/hooks/keap/{tenants[0].hook_token}", json=delivery("order.edit", 2**63 - 1)
    )

    assert response.status_code == 200
    assert [m["payload"]["object_id"] for m in read_notifications(settings, 1)] == [str(2**63 - 1)]


def test_changing_the_timestamp_does_not_defeat_deduplication(settings, tenants):
    hooks = create_app(settings, publish_timeout_seconds=5).test_client()
    token = tenants[0].hook_token

    answers = [
        hooks.post(
            f"/hooks/keap/{token}",
            json=delivery("order.edit", 31, 32, timestamp=f"2026-01-01T12:00:{second:02d}.000Z"),
        )
        for second in range(5)
    ]

    assert [a.get_json()["published"] for a in answers] == [2, 0, 0, 0, 0]
    assert sorted(m["payload"]["object_id"] for m in read_notifications(settings, 2)) == [
        "31",
        "32",
    ]


def test_the_same_id_is_published_again_after_the_window(settings, tenants, redis_client):
    hooks = create_app(settings, publish_timeout_seconds=5).test_client()
    token = tenants[0].hook_token
    first = hooks.post(f"/hooks/keap/{token}", json=delivery("order.edit", 41))
    # The window is a Redis expiry: end it instead of waiting it out.
    for key in redis_client.scan_iter(f"invoicesync:tenant:{tenants[0].id}:hook-seen:*"):
        assert 0 < redis_client.ttl(key) <= settings.hook_dedup_window_seconds
        redis_client.delete(key)

    again = hooks.post(f"/hooks/keap/{token}", json=delivery("order.edit", 41))

    assert [first.get_json()["published"], again.get_json()["published"]] == [1, 1]


def test_a_flooding_tenant_gets_429_while_another_tenant_is_served(settings, tenants):
    limited = replace(settings, hook_tenant_burst=3, hook_tenant_per_second=0.01)
    hooks = create_app(limited, publish_timeout_seconds=5).test_client()
    flooder, quiet = tenants

    flood = [
        hooks.post(f"/hooks/keap/{flooder.hook_token}", json=delivery("order.edit", n))
        for n in range(1, 6)
    ]
    other = hooks.post(f"/hooks/keap/{quiet.hook_token}", json=delivery("order.edit", 99))

    assert [r.status_code for r in flood] == [200, 200, 200, 429, 429]
    refused = flood[-1]
    assert refused.get_json()["error"]["status"] == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert other.status_code == 200
    handshake = hooks.post(
        f"/hooks/keap/{flooder.hook_token}", headers={"X-Hook-Secret": "still-answered"}
    )
    assert handshake.headers["X-Hook-Secret"] == "still-answered"
