"""A ledger payment on an invoice whose id-map entry is gone is matched through the invoice's
own marker in the ledger, reaches Keap once, and the mapping is written back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination

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
