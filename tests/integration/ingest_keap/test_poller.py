"""The poll safety net through the Keap stand-in, real Kafka and Redis."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ingest.hooks_app import create_app as create_hooks_app
from ingest.keap_poll_cursor import PollCursors
from ingest.poller import KeapPoller, build_poller
from invoicesync.domain.canonical import Destination
from invoicesync.hook_subscriptions import ensure_hook_subscriptions
from invoicesync.stores.tenants import TenantStore
from tests.integration.ingest_keap.keap_side import ids_from, read_notifications, seed_orders
from tests.integration.stores.local_servers import serving
from tests.integration.transform.keap_stand_in import create_tenant
from tests.waiting import eventually

pytestmark = pytest.mark.infra


@pytest.fixture
def make_poller(redis_client):
    made: list[KeapPoller] = []

    def make(poll_settings) -> KeapPoller:
        made.append(build_poller(poll_settings, redis_client))
        return made[-1]

    yield make
    for poller in made:
        poller.close()


def newest_modification(keap, tenant_id: str) -> datetime:
    page = keap.client().list_orders(tenant_id, order_by="modification_time desc", page_size=1)
    return page.items[0].modification_time


def test_hooks_dropped_by_keap_are_caught_by_the_poll(
    keap, tenant_id, settings, redis_client, make_poller
):
    keap.control("PUT", "/_sandbox/faults", {"webhook_drop_rate": 1, "webhook_delay_seconds": 0})
    with serving(create_hooks_app(settings)) as hooks_base_url:
        poll_settings = replace(keap.settings, hooks_base_url=hooks_base_url)
        check = ensure_hook_subscriptions(tenant_id, settings=poll_settings, client=redis_client)
        order_ids = seed_orders(keap, 25)
        keap.control("POST", "/_sandbox/keap/hooks/fire")
        eventually(
            lambda: len(keap.control("GET", "/_sandbox/webhooks/deliveries")) >= 2,
            "Keap's (dropped) hook deliveries",
        )

        polls = make_poller(poll_settings).run_once()
        messages = read_notifications(settings, tenant_id, expected=len(order_ids))

    assert check.all_verified
    assert all(d["dropped"] for d in keap.control("GET", "/_sandbox/webhooks/deliveries"))
    assert ids_from(messages, "hook") == []
    assert sorted(ids_from(messages, "poll")) == sorted(order_ids)
    assert [(p.tenant_id, p.published) for p in polls] == [(tenant_id, 25)]


def test_the_cursor_advances_and_the_overlap_rereads_an_order_stamped_behind_it(
    keap, tenant_id, settings, redis_client, make_poller
):
    poll_settings = replace(keap.settings, poll_overlap_seconds=300)
    poller = make_poller(poll_settings)
    first_ids = seed_orders(keap, 3)
    first = poller.poll_tenant(tenant_id)
    # Another Keap node, two minutes behind, commits a change stamped before the cursor.
    keap.control("POST", "/_sandbox/clock", {"advance_seconds": -120})
    late_ids = seed_orders(keap, 2)
    # Keap stamps whole seconds: the new orders come a few seconds after the cursor.
    keap.control("POST", "/_sandbox/clock", {"reset": True})
    keap.control("POST", "/_sandbox/clock", {"advance_seconds": 3})
    new_ids = seed_orders(keap, 2)

    second = poller.poll_tenant(tenant_id)
    messages = read_notifications(settings, tenant_id, expected=len(first_ids) * 2 + 4)

    assert first.cursor is not None and second.cursor is not None
    assert second.cursor > first.cursor
    assert second.cursor == newest_modification(keap, tenant_id)
    polled = ids_from(messages, "poll")
    assert sorted(polled[: first.published]) == sorted(first_ids)
    assert set(polled[first.published :]) >= set(late_ids) | set(new_ids)
    assert PollCursors(redis_client).last_polled(tenant_id) is not None


def test_without_an_overlap_an_order_stamped_behind_the_cursor_is_missed(
    keap, tenant_id, settings, redis_client, make_poller
):
    """The control for the test above: the overlap window is what catches the late order."""
    poller = make_poller(replace(keap.settings, poll_overlap_seconds=0))
    seed_orders(keap, 1)
    poller.poll_tenant(tenant_id)
    keap.control("POST", "/_sandbox/clock", {"advance_seconds": -120})
    late_ids = seed_orders(keap, 1)
    keap.control("POST", "/_sandbox/clock", {"reset": True})

    second = poller.poll_tenant(tenant_id)

    assert second.published == 1  # only the boundary order, re-read inclusively
    assert late_ids[0] not in ids_from(read_notifications(settings, tenant_id), "poll")


def test_a_payment_that_leaves_its_order_untouched_is_caught_by_the_payments_poll(
    keap, tenant_id, settings, make_poller
):
    # Keap does not move an order's modification time for a payment, and the payment is
    # backdated (a cheque recorded a week late), so neither order nor time cursors see it.
    poller = make_poller(keap.settings)
    [order_id] = seed_orders(keap, 1)
    poller.poll_tenant(tenant_id)
    payment = keap.pay(order_id, 3.00, when="2026-01-05T10:00:00Z")

    second = poller.poll_tenant(tenant_id)
    third = poller.poll_tenant(tenant_id)

    messages = read_notifications(settings, tenant_id, expected=3)
    polled_payments = [
        m["payload"]["object_id"]
        for m in messages
        if m["payload"]["source"] == "poll" and m["payload"]["object_type"] == "payment"
    ]
    assert polled_payments == [payment["id"]]
    assert (second.payments_published, third.payments_published) == (1, 0)


def test_a_tenant_with_processing_off_is_not_polled(keap, tenant_id, redis_client, make_poller):
    TenantStore(redis_client).set_processing(tenant_id, False)
    seed_orders(keap, 1)

    assert make_poller(keap.settings).run_once() == []


def test_due_tenants_have_processing_on_and_no_poll_within_the_interval(
    keap, tenant_id, redis_client, make_poller
):
    store = TenantStore(redis_client)
    polled_just_now, switched_off = create_tenant(redis_client), create_tenant(redis_client)
    store.set_processing(switched_off, False)
    PollCursors(redis_client).mark_polled(polled_just_now, datetime.now(UTC))
    never_saved = store.create("Settings never saved", Destination.XERO).id

    due = make_poller(replace(keap.settings, poll_interval_seconds=3600)).due_tenants()

    assert tenant_id in due
    assert not {polled_just_now, switched_off, never_saved} & set(due)


def test_only_one_of_two_pollers_polls(keap, tenant_id, settings, make_poller):
    order_ids = seed_orders(keap, 5)
    with serving(create_hooks_app(settings)) as hooks_base_url:
        # Every tick is due, so a second leader would publish everything a second time.
        poll_settings = replace(
            keap.settings, poll_interval_seconds=0, hooks_base_url=hooks_base_url
        )
        pollers = [make_poller(poll_settings) for _ in range(2)]
        results = run_side_by_side(pollers, ticks=8)
    led = [any(outcome is not None for outcome in outcomes) for outcomes in results]
    leader = led.index(True)
    messages = read_notifications(settings, tenant_id, expected=8 * len(order_ids))

    assert led.count(True) == 1
    assert all(outcome is not None for outcome in results[leader])
    assert len(ids_from(messages, "poll")) == 8 * len(order_ids)


def run_side_by_side(pollers: list[KeapPoller], ticks: int) -> list[list]:
    results: list[list] = [[], []]
    start = threading.Barrier(2)

    def tick(index: int) -> None:
        start.wait()
        for _ in range(ticks):
            results[index].append(pollers[index].run_once())
            time.sleep(0.02)

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
