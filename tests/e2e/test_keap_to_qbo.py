"""Keap to QuickBooks Online through the whole running system: a user's tenant, a Keap order
and payment, Keap's REST hooks, and the invoice in the QBO sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.journey import Tenant, onboard, retire
from tests.e2e.keap_orders import (
    order,
    pay,
    payment_ids,
    place_order,
    settle_tenant,
    taxed_order,
)
from tests.e2e.ledgers import QboLedger, keap_figures, landed
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]


def qbo_tenant(stack, sync: dict | None = None) -> Tenant:
    def items_of_the_company(realm_id: str) -> dict:
        """What the user picks from the company's own item list."""
        items = QboLedger(stack.qbo_url, realm_id).items_by_name()
        return {
            "taxable_item_id": items["Taxable Product"],
            "non_taxable_item_id": items["Non-taxable Product"],
            "shipping_item_id": items["Shipping"],
        }

    return onboard(stack, "qbo", ledger_settings=items_of_the_company, sync=sync)


@pytest.fixture
def tenant(stack):
    running = qbo_tenant(stack)
    yield running
    retire(stack, running)


@pytest.fixture
def invoices_only_tenant(stack):
    running = qbo_tenant(stack, sync={"sync_payments": False})
    yield running
    retire(stack, running)


def test_a_paid_keap_order_becomes_one_qbo_invoice_with_keaps_figures(stack, keap, tenant):
    ledger = QboLedger(stack.qbo_url, tenant.ledger_id)
    placed = place_order(keap, taxed_order(keap))
    pay(keap, placed["id"], Decimal("10.00"))
    keap_order = keap_figures(order(keap, placed["id"]))

    invoice = wait_for(lambda: landed(ledger, keap_order.invoice_number, paid=keap_order.paid))

    assert invoice is not None, ledger.invoices(keap_order.invoice_number)
    assert (invoice.total, invoice.tax, invoice.due, invoice.paid) == (
        Decimal("32.00"),
        Decimal("2.00"),
        Decimal("22.00"),
        Decimal("10.00"),
    )
    assert (invoice.total, invoice.tax, invoice.due) == (
        keap_order.total,
        keap_order.tax,
        keap_order.due,
    )
    linked = ledger.payments_linked_to(invoice.id)
    assert [payment["TotalAmt"] for payment in linked] == [Decimal("10.00")]
    payment_id = payment_ids(keap, placed["id"])[0]
    assert wait_for(lambda: "created" in tenant.activity_outcomes(placed["invoice_id"]))
    assert wait_for(lambda: "created" in tenant.activity_outcomes(payment_id, "payment"))


def test_a_hook_arriving_twice_makes_one_qbo_invoice(stack, keap, tenant):
    ledger = QboLedger(stack.qbo_url, tenant.ledger_id)
    keap.control("PUT", "/_sandbox/faults", {"webhook_duplicate_rate": 1.0})
    try:
        placed = place_order(keap, taxed_order(keap))
        number = keap_figures(placed).invoice_number
        assert wait_for(lambda: landed(ledger, number))
    finally:
        keap.control("PUT", "/_sandbox/faults", {"webhook_duplicate_rate": 0.0})
    duplicated = [
        d
        for d in keap.control("GET", "/_sandbox/webhooks/deliveries")
        if d["url"] == tenant.hook_url and d.get("duplicated") and d["status"] == 200
    ]

    assert len(duplicated) >= 2
    settle_tenant(keap, tenant)
    assert len(ledger.invoices(number)) == 1
    assert tenant.activity_outcomes(placed["invoice_id"]).count("created") == 1


def test_invoices_only_mode_records_no_payment_in_qbo(stack, keap, invoices_only_tenant):
    ledger = QboLedger(stack.qbo_url, invoices_only_tenant.ledger_id)
    placed = place_order(keap, taxed_order(keap))
    number = keap_figures(placed).invoice_number
    assert wait_for(lambda: landed(ledger, number))

    pay(keap, placed["id"], Decimal("32.00"))
    # The tenant's events stay in order: a later order's invoice means the payment went by.
    later = keap_figures(place_order(keap, taxed_order(keap))).invoice_number
    assert wait_for(lambda: landed(ledger, later))

    invoice = landed(ledger, number)
    assert invoice is not None
    assert (invoice.paid, invoice.due) == (Decimal("0.00"), Decimal("32.00"))
    assert ledger.payments_linked_to(invoice.id) == []
