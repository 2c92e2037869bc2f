"""Xero payments reverse-sync leaves alone or records only in part: those the Xero writer made
from Keap, those above the Keap balance, and any for a tenant without reverse sync. What both
ledgers share is in test_ledger_reverse_sync.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.stores.id_map import MappedId
from tests.waiting import eventually

pytestmark = pytest.mark.infra


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
    assert stack.reverse_payments(tenant, order["id"]) == []


def test_a_payment_above_the_keap_balance_records_what_fits_and_reports_the_rest(stack):
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant, total=100)
    stack.keap.pay(order["id"], 70)  # paid in Keap, not (yet) in Xero

    stack.xero_payment(tenant, invoice_id, "50.00")
    results = stack.service.poller.poll_tenant(tenant.tenant_id)

    assert [p.amount for p in stack.reverse_payments(tenant, order["id"])] == [Decimal("30.00")]
    actions = sorted((r.envelope.payload["action"], r.envelope.payload["reason"]) for r in results)
    assert actions[0][0] == "created"
    assert actions[1][0] == "failed" and "20.00 was not recorded in Keap" in actions[1][1]


def test_a_tenant_without_reverse_sync_gets_nothing_written(stack):
    tenant = stack.tenant(Destination.XERO, enabled=False)
    order, invoice_id = stack.synced_invoice(tenant)
    stack.xero_payment(tenant, invoice_id, "40.00")

    assert stack.service.poller.poll_tenant(tenant.tenant_id) == []
    assert stack.reverse_payments(tenant, order["id"]) == []


def test_a_payment_entered_in_xero_reaches_the_keap_order_once_through_the_poll(stack):
    """Xero announces no payment (no Payment event, and no documented INVOICE UPDATE for one):
    the payment poll, every reverse_sync_poll_interval_seconds, is what brings it to Keap."""
    stack.subscribe_xero_webhooks()
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant, total=100)
    # The invoice's own CONTACT and INVOICE CREATE events (after intent-to-receive's one 200):
    # once answered, they have been judged, and neither can mean a payment, so neither is passed
    # on to bring the poll forward.
    eventually(
        lambda: sum(d["status"] == 200 for d in stack.deliveries(stack.xero_url)) >= 3,
        what="the invoice's webhooks delivered",
    )
    assert stack.ledger_notices_published() == 0

    payment_id = stack.xero_payment(tenant, invoice_id, "40.00")
    assert stack.ledger_notices_published() == 0  # nothing announced it
    assert stack.reverse_payments(tenant, order["id"]) == []
    stack.service.poller.poll_tenant(tenant.tenant_id)  # the worker's next poll round

    [recorded] = stack.reverse_payments(tenant, order["id"])
    assert recorded.amount == Decimal("40.00")
    assert f"xero payment {payment_id}" in recorded.note
    stack.service.poller.poll_tenant(tenant.tenant_id)  # the safety net adds nothing
    assert len(stack.reverse_payments(tenant, order["id"])) == 1
