"""Keap to Xero through the whole running system: a user's tenant, a Keap order and payment,
Keap's REST hooks, and the invoice in the Xero sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from tests.e2e.journey import Tenant, onboard, retire
from tests.e2e.keap_orders import (
    FREE_ORDER,
    add_line,
    order,
    pay,
    payment_ids,
    place_order,
    settle_tenant,
    taxed_order,
)
from tests.e2e.ledgers import XeroLedger, keap_figures, landed
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

XERO_SETTINGS = {
    "default_account_code": "200",
    "taxable_tax_type": "OUTPUT",
    "zero_tax_type": "NONE",
    "payment_account_code": "090",
}


def xero_tenant(stack, **overrides) -> Tenant:
    sync = overrides.pop("sync", None)
    return onboard(stack, "xero", ledger_settings=XERO_SETTINGS | overrides, sync=sync)


@pytest.fixture
def tenant(stack):
    running = xero_tenant(stack)
    yield running
    retire(stack, running)


@pytest.fixture
def draft_tenant(stack):
    running = xero_tenant(stack, invoice_status="DRAFT")
    yield running
    retire(stack, running)


@pytest.fixture
def invoices_only_tenant(stack):
    running = xero_tenant(stack, sync={"sync_payments": False})
    yield running
    retire(stack, running)


def test_a_paid_keap_order_becomes_one_xero_invoice_with_keaps_figures(stack, keap, tenant):
    ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
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
    assert invoice.status == "AUTHORISED"
    assert wait_for(lambda: "created" in tenant.activity_outcomes(placed["invoice_id"]))
    payment_id = payment_ids(keap, placed["id"])[0]
    assert wait_for(lambda: "created" in tenant.activity_outcomes(payment_id, "payment"))


def test_a_hook_arriving_three_times_makes_one_invoice(stack, keap, tenant):
    ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
    keap.control("PUT", "/_sandbox/faults", {"webhook_duplicate_rate": 1.0})
    try:
        placed = place_order(keap, taxed_order(keap))
        number = keap_figures(placed).invoice_number
        assert wait_for(lambda: landed(ledger, number))
    finally:
        keap.control("PUT", "/_sandbox/faults", {"webhook_duplicate_rate": 0.0})
    # Keap retrying once more, much later, with the very same body.
    third = requests.post(
        tenant.hook_url,
        json={
            "event_key": "invoice.add",
            "object_type": "invoice",
            "object_keys": [{"apiUrl": "", "id": int(placed["invoice_id"]), "timestamp": "x"}],
        },
        timeout=10,
    )

    deliveries = [
        d
        for d in keap.control("GET", "/_sandbox/webhooks/deliveries")
        if d["url"] == tenant.hook_url and d["status"] == 200
    ]
    assert third.status_code == 200
    assert sum(1 for d in deliveries if d.get("duplicated")) >= 2  # order.add and invoice.add
    settle_tenant(keap, tenant)
    assert len(ledger.invoices(number)) == 1
    assert tenant.activity_outcomes(placed["invoice_id"]).count("created") == 1


def test_an_edit_in_keap_updates_the_draft_xero_invoice(stack, keap, draft_tenant):
    ledger = XeroLedger(stack.xero_url, draft_tenant.ledger_id)
    placed = place_order(keap, taxed_order(keap))
    number = keap_figures(placed).invoice_number
    assert wait_for(lambda: landed(ledger, number, status="DRAFT"))

    edited = keap_figures(
        add_line(
            keap,
            placed["id"],
            {"name": "Gift wrap", "quantity": 1, "item_type": "OTHER", "price_per_unit": "3.25"},
        )
    )
    invoice = wait_for(lambda: landed(ledger, number, total=edited.total))

    assert edited.total == Decimal("35.25")
    assert invoice is not None, ledger.invoices(number)
    assert (invoice.status, invoice.due) == ("DRAFT", Decimal("35.25"))
    assert wait_for(lambda: "updated" in draft_tenant.activity_outcomes(placed["invoice_id"]))


def test_a_zero_total_order_is_skipped_and_the_activity_log_says_why(stack, keap, tenant):
    ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
    placed = place_order(keap, FREE_ORDER)

    skipped = wait_for(
        lambda: [e for e in tenant.activity(placed["invoice_id"]) if e["outcome"] == "skipped"]
    )

    assert skipped, tenant.activity(placed["invoice_id"])
    assert "zero" in skipped[0]["reason"].lower()
    assert ledger.invoices(keap_figures(placed).invoice_number) == []


def test_invoices_only_mode_records_no_payment(stack, keap, invoices_only_tenant):
    ledger = XeroLedger(stack.xero_url, invoices_only_tenant.ledger_id)
    placed = place_order(keap, taxed_order(keap))
    number = keap_figures(placed).invoice_number
    assert wait_for(lambda: landed(ledger, number))

    pay(keap, placed["id"], Decimal("32.00"))
    # One tenant's events stay in order: once a later order's invoice is there, the payment's
    # hook has been through the whole pipeline too.
    later = keap_figures(place_order(keap, taxed_order(keap))).invoice_number
    assert wait_for(lambda: landed(ledger, later))

    invoice = landed(ledger, number)
    assert invoice is not None
    assert (invoice.paid, invoice.due) == (Decimal("0.00"), Decimal("32.00"))
    assert keap_figures(order(keap, placed["id"])).due == Decimal("0.00")
