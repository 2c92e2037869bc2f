"""Payments entered in either ledger stand-in reach the Keap order once, by webhook or, when a
webhook is lost, by the ledger poll (Xero's modified-since read, QBO's change data capture)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from tests.waiting import eventually

pytestmark = pytest.mark.infra


@pytest.mark.parametrize(
    ("destination", "qbo_format"),
    # Xero sends no webhook for a payment: test_xero_reverse_sync covers its poll.
    [
        pytest.param(Destination.QBO, "cloudevents", id="qbo-cloudevents"),
        pytest.param(Destination.QBO, "legacy", id="qbo-legacy"),
    ],
)
def test_a_payment_entered_in_the_ledger_appears_once_on_the_keap_order(
    stack, destination, qbo_format
):
    stack.subscribe_webhooks(destination, qbo_format)
    tenant = stack.tenant(destination)
    order, invoice_id = stack.synced_invoice(tenant, total=100)

    payment_id = stack.ledger_payment(tenant, invoice_id, "40.00")

    [recorded] = eventually(
        lambda: stack.reverse_payments(tenant, order["id"]), what="the payment in Keap"
    )
    assert recorded.amount == Decimal("40.00")
    assert f"{destination.value} payment {payment_id}" in recorded.note
    stack.service.poller.poll_tenant(tenant.tenant_id)  # the poll sees it again, adds nothing
    assert len(stack.reverse_payments(tenant, order["id"])) == 1


@pytest.mark.parametrize(
    ("destination", "duplicates"),
    # Xero sends no webhook for a payment, so none can come twice.
    [
        # QBO notifies the payment and the invoice's new balance: both are sent twice.
        pytest.param(Destination.QBO, 2, id="qbo"),
    ],
)
def test_duplicated_webhook_deliveries_still_record_the_payment_once(
    stack, destination, duplicates
):
    stack.subscribe_webhooks(destination)
    stack.faults(stack.ledger_url(destination), webhook_duplicate_rate=1.0)
    tenant = stack.tenant(destination)
    order, invoice_id = stack.synced_invoice(tenant)

    stack.ledger_payment(tenant, invoice_id, "25.50")

    eventually(
        lambda: (
            sum(d["duplicated"] for d in stack.deliveries(stack.ledger_url(destination)))
            >= duplicates
        ),
        what="duplicated deliveries",
    )
    eventually(lambda: stack.reverse_payments(tenant, order["id"]), what="the payment in Keap")
    stack.finish_delivered_webhooks()
    assert [p.amount for p in stack.reverse_payments(tenant, order["id"])] == [Decimal("25.50")]


@pytest.mark.parametrize("destination", [Destination.XERO, Destination.QBO], ids=["xero", "qbo"])
def test_a_dropped_webhook_is_caught_by_the_ledger_poll(stack, destination):
    stack.subscribe_webhooks(destination)
    stack.faults(stack.ledger_url(destination), webhook_drop_rate=1.0)
    tenant = stack.tenant(destination)
    order, invoice_id = stack.synced_invoice(tenant)
    stack.ledger_payment(tenant, invoice_id, "60.00")
    eventually(
        lambda: any(d["dropped"] for d in stack.deliveries(stack.ledger_url(destination))),
        what="the dropped delivery",
    )
    assert stack.reverse_payments(tenant, order["id"]) == []

    stack.service.poller.poll_due_tenants()

    assert [p.amount for p in stack.reverse_payments(tenant, order["id"])] == [Decimal("60.00")]


def test_only_tenants_with_reverse_sync_on_are_ever_due(stack):
    """A tenant with ReverseSync off is never polled, so it must not look never-polled and
    have its settings read again on every round."""
    on, off = stack.tenant(Destination.XERO), stack.tenant(Destination.XERO, enabled=False)

    due = stack.service.poller.due_tenants()

    assert on.tenant_id in due
    assert off.tenant_id not in due


def test_a_tenant_polled_within_the_interval_is_not_due(stack):
    polled, never_polled = stack.tenant(Destination.XERO), stack.tenant(Destination.QBO)
    poller = stack.service.poller
    poller.poll_tenant(polled.tenant_id)

    assert poller.due_among([polled.tenant_id, never_polled.tenant_id]) == [never_polled.tenant_id]
