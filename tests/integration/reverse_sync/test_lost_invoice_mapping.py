"""A ledger payment on an invoice whose id-map entry is gone is matched through the invoice's
own marker in the ledger, reaches Keap once, and the mapping is written back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from reverse_sync.poller import cursor_key
from tests.waiting import eventually

pytestmark = pytest.mark.infra


def test_a_xero_payment_on_an_invoice_whose_mapping_was_deleted_reaches_keap_once(stack):
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant, total=100)
    keap_invoice_id = str(order["invoice_id"])
    stack.id_map().delete(tenant.tenant_id, "xero", "invoice", keap_invoice_id)
    assert stack.id_map().keap_id_for(tenant.tenant_id, "xero", "invoice", invoice_id) is None

    payment_id = stack.xero_payment(tenant, invoice_id, "40.00")
    results = stack.service.poller.poll_tenant(tenant.tenant_id)
    stack.service.poller.poll_tenant(tenant.tenant_id)  # the next round adds nothing

    [recorded] = stack.reverse_payments(tenant, order["id"])
    print(f"keap payments recorded: 1 of 1 (results {[r.envelope.payload for r in results]})")
    assert recorded.amount == Decimal("40.00")
    assert f"xero payment {payment_id}" in recorded.note
    assert [r.envelope.payload["action"] for r in results] == ["created"]
    restored = stack.id_map().get(tenant.tenant_id, "xero", "invoice", keap_invoice_id)
    assert restored is not None and restored.destination_id == invoice_id
    assert (
        stack.id_map().keap_id_for(tenant.tenant_id, "xero", "invoice", invoice_id)
        == keap_invoice_id
    )


def test_a_payment_on_an_invoice_invoicesync_did_not_write_stays_out_of_keap(stack):
    tenant = stack.tenant(Destination.XERO)
    order, invoice_id = stack.synced_invoice(tenant, total=100)
    stack.id_map().delete(tenant.tenant_id, "xero", "invoice", str(order["invoice_id"]))
    theirs = stack.xero_invoice_with_reference(tenant, "PO 4471", total=60)

    stack.xero_payment(tenant, theirs, "60.00")
    results = stack.service.poller.poll_tenant(tenant.tenant_id)

    assert results == []
    assert stack.reverse_payments(tenant, order["id"]) == []
    assert stack.id_map().keap_id_for(tenant.tenant_id, "xero", "invoice", theirs) is None


def test_a_qbo_payment_announced_by_webhook_on_an_unmapped_invoice_reaches_keap_once(stack):
    """The worker's path: QBO's Payment webhook, the ledger notification on Kafka, one read."""
    stack.subscribe_qbo_webhooks()
    tenant = stack.tenant(Destination.QBO)
    order, invoice_id = stack.synced_invoice(tenant, total=100)
    keap_invoice_id = str(order["invoice_id"])
    stack.id_map().delete(tenant.tenant_id, "qbo", "invoice", keap_invoice_id)

    payment_id = stack.qbo_payment(tenant, invoice_id, "25.00")
    recorded = eventually(
        lambda: stack.reverse_payments(tenant, order["id"]), what="the payment in Keap"
    )
    stack.finish_delivered_webhooks()
    stack.service.poller.poll_tenant(tenant.tenant_id)  # CDC sees it too: nothing more

    after = stack.reverse_payments(tenant, order["id"])
    print(f"keap payments recorded: {len(after)} of 1")
    assert [p.amount for p in after] == [Decimal("25.00")]
    assert f"qbo payment {payment_id}" in recorded[0].note
    assert stack.id_map().keap_id_for(tenant.tenant_id, "qbo", "invoice", invoice_id) == (
        keap_invoice_id
    )


def test_a_payment_whose_keap_order_cannot_be_read_yet_is_kept_and_recorded_once_it_can(stack):
    tenant = stack.tenant(Destination.XERO)
    earlier = stack.keap.order(
        [{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 10}]
    )
    coming = int(earlier["id"]) + 1  # the stand-in numbers orders in sequence
    invoice_id = stack.xero_invoice_with_reference(tenant, f"Keap order {coming}", total=100)
    stack.xero_payment(tenant, invoice_id, "40.00")

    first = stack.service.poller.poll_tenant(tenant.tenant_id)
    # The cursor has moved on: from here the ledger's list no longer shows the payment.
    ahead = datetime.now(UTC) + timedelta(days=1)
    stack.redis.set(cursor_key(tenant.tenant_id, "xero"), ahead.isoformat())
    second = stack.service.poller.poll_tenant(tenant.tenant_id)
    order = stack.keap.order(
        [{"name": "Fee", "quantity": 1, "item_type": "FEE", "price_per_unit": 100}]
    )
    assert int(order["id"]) == coming
    third = stack.service.poller.poll_tenant(tenant.tenant_id)
    fourth = stack.service.poller.poll_tenant(tenant.tenant_id)

    print(f"results per poll: {[len(r) for r in (first, second, third, fourth)]}")
    [kept] = first
    assert kept.envelope.payload["action"] == "failed"
    assert "tried again at every poll" in kept.envelope.payload["reason"]
    assert second == [] and fourth == []
    assert [r.envelope.payload["action"] for r in third] == ["created"]
    assert [p.amount for p in stack.reverse_payments(tenant, order["id"])] == [Decimal("40.00")]
