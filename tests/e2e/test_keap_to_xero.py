"""Keap to Xero through the whole running system, for what only Xero has: draft invoices edited
in place and the skipped zero-total order. What both ledgers share is in test_keap_to_ledger.py."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from tests.e2e.destinations import xero_tenant
from tests.e2e.journey import retire
from tests.e2e.keap_orders import (
    FREE_ORDER,
    add_line,
    place_order,
    taxed_order,
)
from tests.e2e.ledgers import XeroLedger, keap_figures, landed
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]


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


def test_two_businesses_with_their_own_keap_accounts_each_get_their_own_invoice(stack, keap):
    """Separate Keap accounts number their invoices alike: the same Keap invoice id from two
    accounts is two invoices, each in its own business's Xero at its own amount."""
    run = uuid.uuid4().hex[:8]
    tenants = [xero_tenant(stack, keap_app_id=f"shop-{run}-{n}") for n in (1, 2)]
    try:
        shops = [replace(keap, seed_app_id=str(tenant.keap_app_id)) for tenant in tenants]
        prices = ("10.00", "20.00")
        placed = [
            place_order(
                shop,
                [{"name": "Lesson", "quantity": 1, "item_type": "OTHER", "price_per_unit": price}],
            )
            for shop, price in zip(shops, prices, strict=True)
        ]
        assert placed[0]["invoice_id"] == placed[1]["invoice_id"]
        number = keap_figures(placed[0]).invoice_number
        for tenant, price in zip(tenants, prices, strict=True):
            ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
            invoice = wait_for(
                lambda ledger=ledger, price=price: landed(ledger, number, total=Decimal(price))
            )
            assert invoice is not None, ledger.invoices(number)
    finally:
        for tenant in tenants:
            retire(stack, tenant)
