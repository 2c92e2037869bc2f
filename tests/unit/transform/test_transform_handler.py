"""The transform handler over the real Keap stand-in and real Redis (no broker: the test plays
the loop's part by acknowledging what the handler returned)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest

from invoicesync.domain.attention import needs_attention
from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import (
    StartPoint,
    StartPointKind,
    TaxHandling,
    TenantSettings,
)
from invoicesync.errors import InvalidInput
from invoicesync.events import (
    EventType,
    KeapNotification,
    NotificationSource,
    SyncAction,
    Topic,
    envelope_for,
    payload_of,
)
from invoicesync.settings import Settings
from invoicesync.stores.held_notifications import HeldNotifications
from invoicesync.stores.tenants import TenantStore
from tests.integration.transform.keap_stand_in import create_tenant, keap_stand_in
from transform.handler import TransformHandler
from transform.publication_marks import PublicationMarks

pytestmark = pytest.mark.infra

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
WIDGET_LINES = [
    {"name": "Widget", "quantity": 3, "item_type": "OTHER", "price_per_unit": 19.99},
    {"name": "Shipping", "quantity": 1, "item_type": "SHIPPING", "price_per_unit": 4.5},
    {"name": "Sales tax", "quantity": 1, "item_type": "TAX", "price_per_unit": 3.6},
]


def settings_with(processing: bool = True, **sync) -> TenantSettings:
    base = TenantSettings(destination=Destination.XERO)
    return replace(base, sync=replace(base.sync, processing_enabled=processing, **sync))


class Harness:
    def __init__(self, keap, redis_client):
        self.keap = keap
        self.redis = redis_client
        self.marks = PublicationMarks(redis_client)
        self.handler = TransformHandler(
            keap.client(),
            TenantStore(redis_client),
            self.marks,
            HeldNotifications(redis_client),
            clock=lambda: NOW,
        )

    def handle(
        self,
        tenant_id,
        object_type,
        object_id,
        *,
        acknowledge=True,
        source=NotificationSource.HOOK,
    ):
        notification = KeapNotification(
            object_type=object_type,
            object_id=str(object_id),
            source=source,
            observed_at=NOW,
            event_key=f"{object_type}.edit",
        )
        envelope = envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant_id, notification)
        outgoing = self.handler.handle([envelope])
        if acknowledge:  # what the loop does once the broker acknowledged the events
            self.marks.apply(item.envelope for item in outgoing)
        return outgoing


def kinds(outgoing):
    return [(item.topic, item.envelope.type) for item in outgoing]


def results(outgoing):
    return [
        payload_of(item.envelope)
        for item in outgoing
        if item.envelope.type is EventType.SYNC_RESULT_RECORDED
    ]


@pytest.fixture
def harness(redis_server, redis_client):
    with keap_stand_in(Settings(redis_url=redis_server.address), redis_client) as keap:
        yield Harness(keap, redis_client)


def connected_tenant(harness, settings=None) -> str:
    tenant_id = create_tenant(harness.redis, settings or settings_with())
    harness.keap.connect(tenant_id)
    return tenant_id


def test_an_invoice_hook_publishes_the_invoice_then_its_payment_keyed_by_tenant(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 20.00)

    outgoing = harness.handle(tenant_id, "invoice", order["invoice_id"])

    assert kinds(outgoing) == [
        (Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED),
        (Topic.CANONICAL_EVENTS, EventType.PAYMENT_CANONICALISED),
    ]
    assert {item.envelope.key for item in outgoing} == {tenant_id.encode()}
    invoice, payment = (payload_of(item.envelope) for item in outgoing)
    assert invoice.keap_order_id == order["id"]
    assert invoice.keap_invoice_id == order["invoice_id"]
    assert invoice.totals.total == Decimal("68.07")
    assert invoice.totals.tax == Decimal("3.60")
    assert [line.line_amount for line in invoice.lines] == [
        Decimal("59.97"),
        Decimal("4.50"),
        Decimal("3.60"),
    ]
    assert invoice.due_date == date(2026, 4, 1)  # invoice date + the tenant's 30 days
    assert invoice.contact.name == "Ann Lee"
    assert (payment.amount, payment.keap_invoice_id) == (Decimal("20.00"), order["invoice_id"])


@pytest.mark.parametrize(
    "id_kind",
    [
        "transaction_id",  # what the stand-in's invoice.payment.* hooks carry: no v2 payment id
        "id",  # the v2 sales payment id the payments poll publishes
    ],
)
def test_a_payment_notification_publishes_the_payment_whichever_id_it_carries(harness, id_kind):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    recorded = harness.keap.pay(order["id"], 20.00)

    outgoing = harness.handle(tenant_id, "payment", recorded[id_kind])

    assert kinds(outgoing) == [
        (Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED),
        (Topic.CANONICAL_EVENTS, EventType.PAYMENT_CANONICALISED),
    ]
    payment = payload_of(outgoing[1].envelope)
    assert (payment.amount, payment.keap_invoice_id) == (Decimal("20.00"), order["invoice_id"])


def test_a_replayed_notification_publishes_nothing_new(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 20.00)
    harness.handle(tenant_id, "invoice", order["invoice_id"])

    assert harness.handle(tenant_id, "invoice", order["invoice_id"]) == []
    assert harness.handle(tenant_id, "order", order["id"]) == []


@pytest.mark.parametrize(
    "source",
    [NotificationSource.MANUAL, NotificationSource.BACKFILL, NotificationSource.REPLAY],
)
def test_a_requested_sync_publishes_unchanged_content_again(harness, source):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 20.00)
    first = harness.handle(tenant_id, "invoice", order["invoice_id"])

    again = harness.handle(tenant_id, "invoice", order["invoice_id"], source=source)
    hook_after = harness.handle(tenant_id, "invoice", order["invoice_id"])

    assert kinds(again) == kinds(first)
    assert [payload_of(i.envelope).content_hash for i in again] == [
        payload_of(i.envelope).content_hash for i in first
    ]
    assert hook_after == []  # the request leaves the hooks' dedup mark where it was


def test_a_requested_sync_reports_a_skip_again(harness):
    tenant_id = connected_tenant(harness, settings_with(sync_payments=False))
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 20.00)
    harness.handle(tenant_id, "order", order["id"])

    again = harness.handle(tenant_id, "order", order["id"], source=NotificationSource.MANUAL)

    assert [r.reason.split(":")[0] for r in results(again)] == ["payments_not_synced"]


def test_events_never_acknowledged_are_published_again_on_the_next_read(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    first = harness.handle(tenant_id, "order", order["id"], acknowledge=False)

    again = harness.handle(tenant_id, "order", order["id"])

    assert (
        kinds(again) == kinds(first) == [(Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED)]
    )


def test_a_real_edit_publishes_an_updated_invoice_but_not_the_unchanged_payment(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 20.00)
    first = harness.handle(tenant_id, "order", order["id"])
    harness.keap.api(
        "POST",
        f"/orders/{order['id']}/items",
        {"name": "Gift wrap", "quantity": 1, "item_type": "OTHER", "price_per_unit": 2},
    )

    second = harness.handle(tenant_id, "order", order["id"])

    assert kinds(second) == [(Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED)]
    before, after = payload_of(first[0].envelope), payload_of(second[0].envelope)
    assert after.totals.total == before.totals.total + 2
    assert after.content_hash != before.content_hash


def test_processing_off_holds_the_notification_once_and_releases_it_when_switched_on(harness):
    tenant_id = connected_tenant(harness, settings_with(processing=False))
    order = harness.keap.order(WIDGET_LINES)

    held = harness.handle(tenant_id, "invoice", order["invoice_id"])
    held_again = harness.handle(tenant_id, "invoice", order["invoice_id"])
    TenantStore(harness.redis).set_processing(tenant_id, True)
    released = harness.handle(tenant_id, "order", order["id"])

    assert [(r.action, r.keap_id) for r in results(held)] == [
        (SyncAction.HELD, order["invoice_id"])
    ]
    assert held_again == []
    assert kinds(released) == [
        (Topic.KEAP_NOTIFICATIONS, EventType.KEAP_CHANGE_NOTIFIED),
        (Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED),
    ]
    assert payload_of(released[0].envelope).object_id == order["invoice_id"]
    assert HeldNotifications(harness.redis).count(tenant_id) == 0


def test_invoices_only_mode_skips_each_payment_once_with_its_reason(harness):
    tenant_id = connected_tenant(harness, settings_with(sync_payments=False))
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 20.00)

    first = harness.handle(tenant_id, "order", order["id"])
    second = harness.handle(tenant_id, "order", order["id"])

    assert kinds(first) == [
        (Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED),
        (Topic.SYNC_RESULTS, EventType.SYNC_RESULT_RECORDED),
    ]
    [skipped] = results(first)
    assert skipped.action is SyncAction.SKIPPED and skipped.object_type == "payment"
    assert skipped.reason.startswith("payments_not_synced")
    assert second == []


def test_only_when_paid_mode_waits_until_the_invoice_is_paid(harness):
    tenant_id = connected_tenant(harness, settings_with(only_when_paid=True))
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 20.00)

    waiting = harness.handle(tenant_id, "order", order["id"])
    harness.keap.pay(order["id"], 48.07)
    paid = harness.handle(tenant_id, "order", order["id"])

    assert [r.reason.split(":")[0] for r in results(waiting)] == ["not_paid_yet"]
    assert kinds(waiting) == [(Topic.SYNC_RESULTS, EventType.SYNC_RESULT_RECORDED)]
    assert kinds(paid) == [
        (Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED),
        (Topic.CANONICAL_EVENTS, EventType.PAYMENT_CANONICALISED),
        (Topic.CANONICAL_EVENTS, EventType.PAYMENT_CANONICALISED),
    ]


def test_a_zero_total_invoice_is_skipped(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(
        [{"name": "Free sample", "quantity": 1, "item_type": "OTHER", "price_per_unit": 0}]
    )

    outgoing = harness.handle(tenant_id, "order", order["id"])

    assert [(r.action, r.reason.split(":")[0]) for r in results(outgoing)] == [
        (SyncAction.SKIPPED, "zero_total")
    ]
    assert len(outgoing) == 1


def test_an_invoice_dated_before_the_start_point_is_skipped(harness):
    start = StartPoint(kind=StartPointKind.DATE, on_date=date(2026, 3, 3))
    tenant_id = connected_tenant(harness, settings_with(start_point=start))
    order = harness.keap.order(WIDGET_LINES, order_time="2026-03-02T10:00:00Z")

    outgoing = harness.handle(tenant_id, "order", order["id"])

    assert [r.reason.split(":")[0] for r in results(outgoing)] == ["before_start_point"]
    assert len(outgoing) == 1


def test_a_payment_reverse_sync_wrote_is_not_sent_back_out(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 10.00, notes="InvoiceSync: Xero payment 42")

    outgoing = harness.handle(tenant_id, "order", order["id"])

    assert kinds(outgoing) == [
        (Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED),
        (Topic.SYNC_RESULTS, EventType.SYNC_RESULT_RECORDED),
    ]
    [echo] = results(outgoing)
    assert echo.reason.startswith("reverse_sync_echo")
    assert echo.reason_code == "reverse_sync_echo"
    assert not needs_attention(echo.action, echo.reason_code, echo.reason)  # never emailed


def test_an_id_keap_does_not_know_is_skipped_as_not_found(harness):
    tenant_id = connected_tenant(harness)

    by_order = harness.handle(tenant_id, "order", "777777")
    by_invoice = harness.handle(tenant_id, "invoice", "777777")

    assert [(r.action, r.reason) for r in results(by_order) + results(by_invoice)] == [
        (SyncAction.SKIPPED, "not found in Keap"),
        (SyncAction.SKIPPED, "not found in Keap"),
    ]


def test_an_order_whose_lines_cannot_reproduce_keaps_total_is_invalid_input(harness):
    # Tax-inclusive settings against an order whose tax Keap added on top cannot add up.
    base = settings_with()
    inclusive = replace(base, keap=replace(base.keap, tax_handling=TaxHandling.INCLUSIVE))
    tenant_id = connected_tenant(harness, inclusive)
    order = harness.keap.order(WIDGET_LINES)

    with pytest.raises(InvalidInput):
        harness.handle(tenant_id, "order", order["id"])


def test_an_order_total_sent_in_major_units_fails_naming_the_field_and_both_values(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(
        [{"name": "Consulting", "quantity": 1, "item_type": "OTHER", "price_per_unit": 100}]
    )
    harness.keap.control(
        "PUT", f"/_sandbox/keap/orders/{order['id']}/money_units", {"currency_values": "major"}
    )

    with pytest.raises(InvalidInput) as raised:
        harness.handle(tenant_id, "invoice", order["invoice_id"])
    assert f"order {order['id']} total: amount reads as 1.00" in str(raised.value)
    assert "'$100.00'" in str(raised.value)


def test_payment_rows_that_read_as_cents_fail_against_total_paid(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    harness.keap.pay(order["id"], 20.00)
    harness.keap.control(
        "PUT", f"/_sandbox/keap/orders/{order['id']}/money_units", {"order_payments": "minor"}
    )

    with pytest.raises(InvalidInput, match="total_paid is 20.00 but its payment rows sum to 2000"):
        harness.handle(tenant_id, "order", order["id"])


def test_a_notification_for_an_unknown_tenant_is_invalid_input(harness, unique_name):
    with pytest.raises(InvalidInput):
        harness.handle(unique_name, "order", "1")


def notified(tenant_id, object_type, object_id):
    notification = KeapNotification(
        object_type=object_type,
        object_id=str(object_id),
        source=NotificationSource.HOOK,
        observed_at=NOW,
        event_key=f"{object_type}.edit",
    )
    return envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant_id, notification)


def test_a_held_run_holds_each_object_once_and_a_retried_run_reports_its_holds_again(harness):
    tenant_id = connected_tenant(harness, settings_with(processing=False))
    run = [
        notified(tenant_id, "order", 101),
        notified(tenant_id, "order", 102),
        notified(tenant_id, "order", 101),  # a repeat of an object held in the same run
    ]

    first = harness.handler.handle(run)
    retried = harness.handler.handle(run)  # the loop handles a run again after a failure
    later = harness.handler.handle([notified(tenant_id, "order", 102)])

    assert [(r.action, r.keap_id) for r in results(first)] == [
        (SyncAction.HELD, "101"),
        (SyncAction.HELD, "102"),
    ]
    assert [r.keap_id for r in results(retried)] == ["101", "102"]
    assert later == []
    assert HeldNotifications(harness.redis).count(tenant_id) == 2


def test_a_run_publishes_an_unchanged_invoice_once_and_releases_holds_once(harness):
    tenant_id = connected_tenant(harness, settings_with(processing=False))
    order = harness.keap.order(WIDGET_LINES)
    harness.handle(tenant_id, "invoice", order["invoice_id"])
    TenantStore(harness.redis).set_processing(tenant_id, True)

    outgoing = harness.handler.handle(
        [
            notified(tenant_id, "order", order["id"]),
            notified(tenant_id, "invoice", order["invoice_id"]),
        ]
    )

    assert kinds(outgoing) == [
        (Topic.KEAP_NOTIFICATIONS, EventType.KEAP_CHANGE_NOTIFIED),
        (Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED),
    ]


def order_reads(harness, orders: list[dict]) -> list[str]:
    """The Keap calls that read `orders` (by order or invoice id), as `path?query`."""
    ids = [str(order[key]) for order in orders for key in ("id", "invoice_id")]
    reads = []
    for entry in harness.keap.requests_log():
        call = f"{entry['path']}?{unquote(entry['query'])}"
        if (
            entry["method"] == "GET"
            and entry["path"].startswith("/crm/rest/v2/orders")
            and not entry["path"].endswith("/payments")
            and any(re.search(rf"\b{i}\b", call) for i in ids)
        ):
            reads.append(call)
    return reads


def test_a_run_reads_its_orders_in_one_call_and_their_invoice_hooks_in_none(harness):
    tenant_id = connected_tenant(harness)
    orders = [harness.keap.order(WIDGET_LINES) for _ in range(3)]
    run = [notified(tenant_id, "order", order["id"]) for order in orders]
    run += [notified(tenant_id, "invoice", order["invoice_id"]) for order in orders]
    run.append(notified(tenant_id, "order", orders[0]["id"]))  # order.edit after order.add

    outgoing = harness.handler.handle(run)

    reads = order_reads(harness, orders)
    assert len(reads) == 1, reads
    assert "filter=ids==" in reads[0]
    published = [
        payload_of(item.envelope).keap_invoice_id
        for item in outgoing
        if item.envelope.type is EventType.INVOICE_CANONICALISED
    ]
    assert published == [str(order["invoice_id"]) for order in orders]


def test_an_order_the_run_read_misses_is_asked_for_alone_and_reported_not_found(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    missing = int(order["id"]) + 10_000

    outgoing = harness.handler.handle(
        [notified(tenant_id, "order", order["id"]), notified(tenant_id, "order", missing)]
    )

    reads = order_reads(harness, [order, {"id": missing, "invoice_id": missing}])
    assert reads[0].startswith("/crm/rest/v2/orders?") and reads[1:] == [
        f"/crm/rest/v2/orders/{missing}?"
    ], reads
    assert [(r.keap_id, r.action) for r in results(outgoing)] == [
        (str(missing), SyncAction.SKIPPED)
    ]
    assert kinds(outgoing)[0] == (Topic.CANONICAL_EVENTS, EventType.INVOICE_CANONICALISED)


def test_a_requested_sync_in_a_run_publishes_again_what_a_hook_of_the_run_published(harness):
    tenant_id = connected_tenant(harness)
    order = harness.keap.order(WIDGET_LINES)
    other = harness.keap.order(WIDGET_LINES)
    requested = replace(
        payload_of(notified(tenant_id, "invoice", order["invoice_id"])),
        source=NotificationSource.MANUAL,
    )

    outgoing = harness.handler.handle(
        [
            notified(tenant_id, "order", order["id"]),
            notified(tenant_id, "order", other["id"]),
            envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant_id, requested),
        ]
    )

    published = [
        payload_of(item.envelope).keap_invoice_id
        for item in outgoing
        if item.envelope.type is EventType.INVOICE_CANONICALISED
    ]
    assert published == [
        str(order["invoice_id"]),
        str(other["invoice_id"]),
        str(order["invoice_id"]),
    ]


def test_invoice_hooks_of_orders_read_before_are_read_by_order_id_in_the_runs_one_call(harness):
    """An order's invoice never changes: once an order was read, its invoice's hooks in a later
    run are read as the order, not searched for by invoice id."""
    tenant_id = connected_tenant(harness)
    orders = [harness.keap.order(WIDGET_LINES) for _ in range(2)]
    harness.handler.handle([notified(tenant_id, "order", order["id"]) for order in orders])
    before = len(order_reads(harness, orders))

    outgoing = harness.handler.handle(
        [notified(tenant_id, "invoice", order["invoice_id"]) for order in orders]
    )

    reads = order_reads(harness, orders)[before:]
    assert len(reads) == 1 and "filter=ids==" in reads[0], reads
    assert "invoice_id==" not in reads[0]
    # The first run's events were never acknowledged, so they are published again: from the read.
    assert [payload_of(item.envelope).keap_invoice_id for item in outgoing] == [
        str(order["invoice_id"]) for order in orders
    ]
