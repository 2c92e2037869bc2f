"""The Keap client against the Keap stand-in: typed reads, paging, invoice ids, errors, hooks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from flask import Flask, request

from invoicesync.clients.keap import KEAP_SCOPE_KEY, KeapNotFound
from invoicesync.crypto import TokenCipher
from invoicesync.domain.keap_order import KeapItemType, KeapPayStatus
from invoicesync.errors import RateLimited
from invoicesync.settings import Settings
from invoicesync.stores.tokens import TokenStore
from tests.integration.stores.local_servers import serving
from tests.integration.transform.keap_stand_in import keap_stand_in

pytestmark = pytest.mark.infra


@pytest.fixture
def keap(redis_server, redis_client, unique_name):
    # Only Redis is needed here: the client never touches Kafka.
    with keap_stand_in(Settings(redis_url=redis_server.address), redis_client) as stand_in:
        stand_in.connect(unique_name)
        yield stand_in
    redis_client.delete(f"invoicesync:limiter:{KEAP_SCOPE_KEY}:penalty")


def test_get_order_returns_typed_items_with_amounts_in_currency_units(keap, unique_name):
    widget = keap.product("Widget", 1999, sku="W-1", taxable=True)
    created = keap.order(
        [
            {"product_id": widget, "quantity": 3, "item_type": "PRODUCT"},
            {"name": "Shipping", "quantity": 1, "item_type": "SHIPPING", "price_per_unit": 4.5},
        ]
    )

    order = keap.client().get_order(unique_name, created["id"])

    assert order.id == created["id"]
    assert order.invoice_id == created["invoice_id"]
    assert order.total == Decimal("64.47")
    assert [(i.item_type, i.quantity, i.price_per_unit) for i in order.items] == [
        (KeapItemType.PRODUCT, Decimal(3), Decimal("19.99")),
        (KeapItemType.SHIPPING, Decimal(1), Decimal("4.50")),
    ]
    assert order.items[0].sku == "W-1" and order.items[0].taxable


def test_an_invoice_id_resolves_to_its_order_and_an_unknown_one_to_none(keap, unique_name):
    keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 5}])
    second = keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 7}])
    client = keap.client()

    found = client.find_order_by_invoice(unique_name, second["invoice_id"])

    assert found is not None and found.id == second["id"]
    assert client.find_order_by_invoice(unique_name, "999999") is None


def test_an_unknown_order_id_is_not_found(keap, unique_name):
    with pytest.raises(KeapNotFound):
        keap.client().get_order(unique_name, "424242")


def test_listing_orders_follows_page_tokens_to_the_end(keap, unique_name):
    created = [
        keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": n}])["id"]
        for n in range(1, 6)
    ]
    client = keap.client()
    seen, token, pages = [], None, 0
    while True:
        page = client.list_orders(unique_name, token, page_size=2)
        seen += [order.id for order in page.items]
        pages += 1
        token = page.next_page_token
        if token is None:
            break

    assert seen == created
    assert pages == 3


def test_orders_modified_since_a_time_leave_out_older_changes(keap, unique_name):
    keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 1}])
    keap.control("POST", "/_sandbox/clock", {"advance_seconds": 3600})
    now = datetime.fromisoformat(keap.control("GET", "/_sandbox/clock")["now"])
    newer = keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 2}])

    page = keap.client().list_orders_modified_since(unique_name, now - timedelta(seconds=60))

    assert [order.id for order in page.items] == [newer["id"]]


def test_a_recorded_manual_payment_is_read_back_in_major_units(keap, unique_name):
    order = keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 80}])
    client = keap.client()

    recorded = client.create_manual_payment(
        unique_name,
        order["id"],
        Decimal("25.10"),
        datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
        "Check",
        "InvoiceSync: xero payment 1",
    )
    payments = client.list_order_payments(unique_name, order["id"])

    assert [(p.amount, p.note, p.status) for p in payments] == [
        (Decimal("25.10"), "InvoiceSync: xero payment 1", KeapPayStatus.parse(payments[0].status))
    ]
    assert payments[0].payment_id == recorded.payment_id
    assert payments[0].paid_at == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_a_429_without_retry_after_raises_rate_limited_with_a_growing_backoff(keap, unique_name):
    order = keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 1}])
    keap.control("PUT", "/_sandbox/faults", {"storm_429_seconds": 60})
    client = keap.client()

    with pytest.raises(RateLimited) as first:
        client.get_order(unique_name, order["id"])
    with pytest.raises(RateLimited) as second:
        client.get_order(unique_name, order["id"])

    assert first.value.retry_after >= 1
    assert second.value.retry_after > first.value.retry_after
    assert first.value.tenant_id == unique_name


def test_calls_from_many_threads_stay_inside_keaps_spike_arrest(keap, unique_name):
    """keap.md §6: Keap's gateway 429s a client above about 25 calls a second. Eight threads
    reading at once (transform's workers) are held to the app's per-second limit instead."""
    order = keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 1}])
    client = keap.client()

    def read_ten(_: int) -> int:
        for _ in range(10):
            client.get_order(unique_name, order["id"])
        return 10

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(read_ten, range(8))) == 80  # a 429 would raise RateLimited


def test_a_rejected_access_token_is_refreshed_once_and_the_call_succeeds(
    keap, unique_name, redis_client
):
    order = keap.order([{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 1}])
    store = TokenStore(redis_client, TokenCipher(keap.settings.token_encryption_key))
    # A token Keap no longer accepts, though it has not reached its expiry time.
    store.save(replace(store.load("keap", unique_name), access_token="revoked-by-keap"))

    found = keap.client().get_order(unique_name, order["id"])

    assert found.id == order["id"]
    assert store.load("keap", unique_name).access_token != "revoked-by-keap"
    assert keap.control("GET", "/_sandbox/counters").get("POST /token") == 1


def _echoing_receiver() -> Flask:
    app = Flask("receiver")

    @app.post("/hook")
    def hook():
        secret = request.headers.get("X-Hook-Secret")
        return "", 200, ({"X-Hook-Secret": secret} if secret else {})

    return app


def test_hook_subscriptions_are_created_verified_listed_and_deleted(keap, unique_name):
    client = keap.client()
    with serving(_echoing_receiver()) as receiver:
        hook = client.create_hook(unique_name, "invoice.add", f"{receiver}/hook")
        verified = client.verify_hook(unique_name, hook.key)
        listed = client.list_hooks(unique_name)
        client.delete_hook(unique_name, hook.key)
        client.delete_hook(unique_name, hook.key)  # a second delete is harmless

    assert hook.verified and verified.verified
    assert [(h.key, h.event_key) for h in listed] == [(hook.key, "invoice.add")]
    assert client.list_hooks(unique_name) == []
    assert requests.get(f"{keap.base_url}/_sandbox/healthz", timeout=5).ok
