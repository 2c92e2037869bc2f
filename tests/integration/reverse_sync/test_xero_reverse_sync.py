"""Payments entered in the Xero stand-in reach the Keap order once, by webhook or by poll."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.domain.sync_rules import is_reverse_sync_note
from invoicesync.stores.id_map import MappedId
from tests.waiting import eventually

pytestmark = pytest.mark.infra


def _reverse_payments(stack, tenant, order_id):
    return [p for p in stack.keap_payments(tenant, order_id) if is_reverse_sync_note(p.note)]


def test_a_payment_entered_in_xero_appears_once_on_the_keap_order(stack):
    """Xero announces no payment (no Payment event, and no documented INVOICE UPDATE for one):
    the payment poll, every reverse_sync_poll_interval_seconds, is what brings it to Keap."""
    stack.subscribe_xero_webhooks()
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant, total=100)
    # The invoice's own CONTACT and INVOICE CREATE events (after intent-to-receive's one 200)
    # are answered only once published, then dealt with: the poll they bring forward is over.
    eventually(
        lambda: sum(d["status"] == 200 for d in stack.deliveries(stack.xero_url)) >= 3,
        what="the invoice's webhooks delivered",
    )
    stack.finish_delivered_webhooks()

    payment_id = stack.xero_payment(tenant, invoice_id, "40.00")
    stack.finish_delivered_webhooks()
    assert _reverse_payments(stack, tenant, order["id"]) == []  # nothing announced it
    stack.service.poller.poll_tenant(tenant.tenant_id)  # the worker's next poll round

    [recorded] = _reverse_payments(stack, tenant, order["id"])
    assert recorded.amount == Decimal("40.00")
    assert f"xero payment {payment_id}" in recorded.note
    stack.service.poller.poll_tenant(tenant.tenant_id)  # the safety net adds nothing
    assert len(_reverse_payments(stack, tenant, order["id"])) == 1


def test_duplicated_webhook_deliveries_still_record_the_payment_once(stack):
    stack.subscribe_xero_webhooks()
    stack.faults(stack.xero_url, webhook_duplicate_rate=1.0)
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant)

    stack.xero_payment(tenant, invoice_id, "25.50")

    eventually(
        lambda: any(d["duplicated"] for d in stack.deliveries(stack.xero_url)),
        what="a duplicated delivery",
    )
    eventually(lambda: _reverse_payments(stack, tenant, order["id"]), what="the payment in Keap")
    stack.finish_delivered_webhooks()
    assert [p.amount for p in _reverse_payments(stack, tenant, order["id"])] == [Decimal("25.50")]


def test_a_dropped_webhook_is_caught_by_the_poll(stack):
    stack.subscribe_xero_webhooks()
    stack.faults(stack.xero_url, webhook_drop_rate=1.0)
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant)
    stack.xero_payment(tenant, invoice_id, "60.00")
    eventually(
        lambda: any(d["dropped"] for d in stack.deliveries(stack.xero_url)),
        what="the dropped delivery",
    )
    assert _reverse_payments(stack, tenant, order["id"]) == []

    stack.service.poller.poll_due_tenants()

    assert [p.amount for p in _reverse_payments(stack, tenant, order["id"])] == [Decimal("60.00")]


def test_a_payment_that_came_from_keap_is_not_written_back(stack):
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant)
    # What the Xero writer does with Keap payment 9001: the payment, then its mapping.
    xero_id = stack.xero_payment(tenant, invoice_id, "30.00", reference="Keap payment 9001")
    stack.id_map().put(
        tenant.tenant_id, "xero", "payment", "9001", MappedId(xero_id, "payment-hash")
    )
    unmarked_id = stack.xero_payment(tenant, invoice_id, "10.00")
    stack.id_map().put(
        tenant.tenant_id, "xero", "payment", "9002", MappedId(unmarked_id, "payment-hash")
    )

    results = stack.service.poller.poll_tenant(tenant.tenant_id)

    assert results == []
    assert _reverse_payments(stack, tenant, order["id"]) == []


def test_a_payment_above_the_keap_balance_records_what_fits_and_reports_the_rest(stack):
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant, total=100)
    stack.keap.pay(order["id"], 70)  # paid in Keap, not (yet) in Xero

    stack.xero_payment(tenant, invoice_id, "50.00")
    results = stack.service.poller.poll_tenant(tenant.tenant_id)

    assert [p.amount for p in _reverse_payments(stack, tenant, order["id"])] == [Decimal("30.00")]
    actions = sorted((r.envelope.payload["action"], r.envelope.payload["reason"]) for r in results)
    assert actions[0][0] == "created"
    assert actions[1][0] == "failed" and "20.00 was not recorded in Keap" in actions[1][1]


def test_a_tenant_without_reverse_sync_gets_nothing_written(stack):
    tenant = stack.tenant(Destination.XERO, enabled=False)
    order, invoice_id = stack.synced_invoice(tenant)
    stack.xero_payment(tenant, invoice_id, "40.00")

    assert stack.service.poller.poll_tenant(tenant.tenant_id) == []
    assert _reverse_payments(stack, tenant, order["id"]) == []
