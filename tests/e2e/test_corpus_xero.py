"""The seed product's rules, Keap to Xero, through the whole running system: orders placed in
Keap's v2 API for tenants whose settings exercise each rule, read back as a bookkeeper opening
the invoice in Xero would, with Keap's totals to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e import corpus
from tests.e2e.corpus import SyncedOrder
from tests.e2e.destinations import XERO_SETTINGS
from tests.e2e.keap_orders import (
    INVOICE_DATE,
    charge_line,
    every_kind_of_charge,
    final_plan_date,
    keap_currency,
    place_order,
    place_orders_due_by_their_payments,
    product_line,
)
from tests.e2e.ledgers import KeapFigures, XeroLedger

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

# The Xero sandbox organisation's items: SHIP sells to 260 (Other Revenue), not the default 200.
SHARED_SKU = "SHIP"


class Synced(SyncedOrder):
    """One Keap order as it stands and the Xero invoice made of it."""

    def lines(self) -> dict[str, dict]:
        return {line["Description"]: line for line in self.invoice["LineItems"]}


def sync_orders(stack, keap, stack_redis, xero: dict, sync: dict, build) -> dict[str, Synced]:
    def read(ledger: XeroLedger, figures: KeapFigures, order: dict, invoice_id: str) -> Synced:
        return Synced(figures, order, ledger.invoice(invoice_id))

    return corpus.sync_orders(
        stack,
        keap,
        stack_redis,
        "xero",
        ledger_settings=XERO_SETTINGS | xero,
        sync=sync,
        build=build,
        read=read,
    )


def authorised_orders(keap) -> dict[str, str]:
    widget = keap.product("Widget", 1250, sku="WID-1", taxable=True)
    box_a = keap.product("Express box A", 950, sku=SHARED_SKU)
    box_b = keap.product("Express box B", 400, sku=SHARED_SKU)
    gadget = keap.product("Gadget", 1000)
    mixed = place_order(
        keap,
        [
            product_line(widget, 2, "12.50"),
            product_line(box_a, 1, "9.50"),
            product_line(box_b, 2, "4.00"),
            *every_kind_of_charge(),
        ],
    )
    due_by_payments = place_orders_due_by_their_payments(keap, widget, gadget)
    with keap_currency(keap, "EUR"):
        euro_widget = keap.product("Euro widget", 1500)
        in_euros = place_order(
            keap, [product_line(euro_widget, 2, "15.00"), charge_line("SHIPPING", "Post", "4.00")]
        )
    return {"mixed": mixed["id"], "euro": in_euros["id"]} | due_by_payments


def draft_orders(keap) -> dict[str, str]:
    box = keap.product("Express box", 950, sku=SHARED_SKU)
    placed = place_order(
        keap,
        [
            product_line(box, 1, "9.50"),
            charge_line("SHIPPING", "Shipping", "5.00"),
            charge_line("DISCOUNT", "Loyalty", "1.00"),
        ],
    )
    return {"draft": placed["id"]}


def submitted_orders(keap) -> dict[str, str]:
    box = keap.product("Express box", 950, sku=SHARED_SKU)
    return {"submitted": place_order(keap, [product_line(box, 1, "9.50")])["id"]}


@pytest.fixture(scope="module")
def books(stack, keap, stack_redis) -> dict[str, Synced]:
    """Three tenants one after another, each with its orders synced together."""
    synced = sync_orders(
        stack,
        keap,
        stack_redis,
        {
            "discount_account_code": "260",
            "finance_charge_account_code": "270",
            "shipping_account_code": "",
            "zero_tax_type": "ZERORATEDOUTPUT",
            "sku_matching": True,
            "sku_sets_item_code": True,
            "invoice_status": "AUTHORISED",
        },
        {"due_date_days": 14},
        authorised_orders,
    )
    synced |= sync_orders(
        stack,
        keap,
        stack_redis,
        {"invoice_status": "DRAFT", "shipping_account_code": "260", "discount_account_code": ""},
        {},
        draft_orders,
    )
    synced |= sync_orders(
        stack,
        keap,
        stack_redis,
        {"invoice_status": "SUBMITTED", "sku_matching": True, "sku_sets_item_code": False},
        {},
        submitted_orders,
    )
    return synced


def ledger_figures(invoice: dict) -> tuple[Decimal, Decimal, Decimal]:
    return invoice["Total"], invoice["TotalTax"], invoice["AmountDue"]


@pytest.mark.parametrize(
    "name", ["mixed", "paid at creation", "payment plan", "partly paid", "euro", "draft"]
)
def test_xero_shows_keaps_total_tax_and_amount_due_to_the_cent(books, name):
    synced = books[name]

    assert ledger_figures(synced.invoice) == (synced.keap.total, synced.keap.tax, synced.keap.due)
    assert synced.invoice["InvoiceNumber"] == synced.keap.invoice_number


def test_the_mixed_order_matches_keaps_own_figures(books):
    assert ledger_figures(books["mixed"].invoice) == (
        Decimal("45.75"),
        Decimal("2.00"),
        Decimal("45.75"),
    )


def test_discount_and_finance_charge_lines_use_their_override_accounts(books):
    lines = books["mixed"].lines()

    assert lines["Spring sale"]["AccountCode"] == "260"
    assert lines["Widget offer"]["AccountCode"] == "260"
    assert lines["Late fee"]["AccountCode"] == "270"


def test_a_blank_override_falls_back_to_the_default_account(books):
    assert books["mixed"].lines()["Shipping"]["AccountCode"] == "200"
    assert books["draft"].lines()["Loyalty"]["AccountCode"] == "200"


def test_a_set_shipping_override_is_used(books):
    assert books["draft"].lines()["Shipping"]["AccountCode"] == "260"


def test_order_and_product_discounts_are_negative_lines_of_keaps_amounts(books):
    lines = books["mixed"].lines()

    assert (lines["Spring sale"]["LineAmount"], lines["Widget offer"]["LineAmount"]) == (
        Decimal("-3.00"),
        Decimal("-2.00"),
    )
    assert lines["Widget"]["LineAmount"] == Decimal("25.00")  # Keap's price, before discounts


def test_products_sharing_a_sku_both_take_the_xero_items_sales_account_and_code(books):
    lines = books["mixed"].lines()

    for description in ("Express box A", "Express box B"):
        line = lines[description]
        assert (line["AccountCode"], line.get("ItemCode")) == ("260", SHARED_SKU), line
    assert lines["Express box B"]["LineAmount"] == Decimal("8.00")


def test_a_sku_with_no_xero_item_keeps_the_default_account(books):
    widget = books["mixed"].lines()["Widget"]

    assert (widget["AccountCode"], widget.get("ItemCode")) == ("200", None)


def test_sku_matching_without_the_item_code_option_sets_the_account_only(books):
    [line] = books["submitted"].invoice["LineItems"]

    assert (line["Description"], line["AccountCode"]) == ("Express box", "260")
    assert not line.get("ItemCode")


def test_with_sku_matching_off_a_matching_sku_is_ignored(books):
    box = books["draft"].lines()["Express box"]

    assert (box["AccountCode"], box.get("ItemCode")) == ("200", None)


def test_taxable_lines_carry_the_taxable_type_and_the_rest_the_zero_type(books):
    lines = books["mixed"].lines()

    assert lines["Widget"]["TaxType"] == "OUTPUT"
    untaxed = ("Express box A", "Express box B", "Shipping", "Late fee", "Spring sale")
    assert {lines[name]["TaxType"] for name in untaxed} == {"ZERORATEDOUTPUT"}


@pytest.mark.parametrize(
    ("name", "status"),
    [("mixed", "AUTHORISED"), ("draft", "DRAFT"), ("submitted", "SUBMITTED")],
)
def test_new_invoices_get_the_tenants_status(books, name, status):
    assert books[name].invoice["Status"] == status


def test_an_invoice_paid_at_creation_is_due_on_its_date_and_paid(books):
    invoice = books["paid at creation"].invoice

    assert (invoice["DateString"][:10], invoice["DueDateString"][:10]) == (
        INVOICE_DATE,
        INVOICE_DATE,
    )
    assert (invoice["Status"], invoice["AmountDue"]) == ("PAID", Decimal("0.00"))


def test_an_invoice_on_a_payment_plan_is_due_on_the_plans_final_payment(books):
    synced = books["payment plan"]

    assert synced.invoice["DueDateString"][:10] == final_plan_date(synced.order) == "2026-05-09"


@pytest.mark.parametrize(("name", "due"), [("partly paid", "2026-03-16"), ("draft", "2026-04-01")])
def test_otherwise_the_invoice_is_due_the_tenants_days_after_its_date(books, name, due):
    invoice = books[name].invoice

    assert (invoice["DateString"][:10], invoice["DueDateString"][:10]) == (INVOICE_DATE, due)


def test_a_partial_payment_leaves_the_rest_due(books):
    invoice = books["partly paid"].invoice

    assert (invoice["AmountPaid"], invoice["AmountDue"]) == (Decimal("10.00"), Decimal("22.00"))
    assert invoice["Status"] == "AUTHORISED"


def test_an_order_in_another_currency_is_invoiced_in_it(books):
    invoice = books["euro"].invoice

    assert books["euro"].order["total"]["currency_code"] == "EUR"
    assert (invoice["CurrencyCode"], invoice["Total"]) == ("EUR", Decimal("34.00"))
