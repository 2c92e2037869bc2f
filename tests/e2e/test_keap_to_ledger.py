"""Keap to either ledger through the whole running system: a user's tenant, a Keap order and
payment, Keap's REST hooks, and the invoice in the Xero or QBO sandbox; each test runs once
per destination."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from tests.e2e.destinations import ledger_of, tenant_of
from tests.e2e.journey import retire
from tests.e2e.keap_orders import (
    order,
    pay,
    payment_ids,
    place_order,
    settle_tenant,
    taxed_order,
)
from tests.e2e.ledgers import keap_figures, landed
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

# What a new invoice's status reads as; QBO invoices have none.
NEW_INVOICE_STATUS = {"xero": "AUTHORISED", "qbo": ""}


@pytest.fixture(params=["xero", "qbo"])
def destination(request) -> str:
    return request.param


@pytest.fixture
def tenant(stack, destination):
    running = tenant_of(stack, destination)
    yield running
    retire(stack, running)


@pytest.fixture
def invoices_only_tenant(stack, destination):
    running = tenant_of(stack, destination, sync={"sync_payments": False})
    yield running
    retire(stack, running)


def test_a_paid_keap_order_becomes_one_invoice_with_keaps_figures(stack, keap, tenant):
    ledger = ledger_of(stack, tenant)
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
    assert invoice.status == NEW_INVOICE_STATUS[tenant.destination]
    assert ledger.payment_amounts(invoice.id) == [Decimal("10.00")]
    assert wait_for(lambda: "created" in tenant.activity_outcomes(placed["invoice_id"]))
    payment_id = payment_ids(keap, placed["id"])[0]
    assert wait_for(lambda: "created" in tenant.activity_outcomes(payment_id, "payment"))


def test_a_hook_arriving_three_times_makes_one_invoice(stack, keap, tenant):
    ledger = ledger_of(stack, tenant)
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


def test_invoices_only_mode_records_no_payment(stack, keap, invoices_only_tenant):
    ledger = ledger_of(stack, invoices_only_tenant)
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
    assert ledger.payment_amounts(invoice.id) == []
    assert keap_figures(order(keap, placed["id"])).due == Decimal("0.00")
