"""The seed product's rules, Keap to Xero, through the whole running system: orders placed in
Keap's v2 API for tenants whose settings exercise each rule, read back as a bookkeeper opening
the invoice in Xero would, with Keap's totals to the cent."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.e2e.journey import Tenant, onboard_from_here, retire
from tests.e2e.keap_orders import (
    add_payment_plan,
    charge_line,
    final_plan_date,
    hooks_held,
    keap_currency,
    newest_invoice_id,
    order,
    pay_on,
    place_order,
    product_line,
    taxed_order,
)
from tests.e2e.ledgers import KeapFigures, XeroLedger, keap_figures
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

BASE_SETTINGS = {
    "default_account_code": "200",
    "taxable_tax_type": "OUTPUT",
    "zero_tax_type": "NONE",
    "payment_account_code": "090",
}
# The Xero sandbox organisation's items: SHIP sells to 260 (Other Revenue), not the default 200.
SHARED_SKU = "SHIP"
INVOICE_DATE = "2026-03-02"
ORDER_TIME = f"{INVOICE_DATE}T10:00:00Z"


@dataclass(frozen=True)
class Synced:
    """One Keap order as it stands and the Xero invoice made of it."""

    keap: KeapFigures
    order: dict
    invoice: dict

    def lines(self) -> dict[str, dict]:
        return {line["Description"]: line for line in self.invoice["LineItems"]}


def sync_orders(stack, keap, stack_redis, xero: dict, sync: dict, build) -> dict[str, Synced]:
    """Onboard a tenant, place `build(keap)`'s orders with Keap's hooks held so all of them are
    in flight at once, wait until Xero shows each with Keap's payments, then retire it (every
    tenant of the run writes to the sandbox's one organisation)."""
    tenant = onboard_from_here(
        stack,
        newest_invoice_id(keap),
        stack_redis,
        "xero",
        ledger_settings=BASE_SETTINGS | xero,
        sync=sync,
    )
    try:
        with hooks_held(keap):
            order_ids = build(keap)
        return read_back(stack, keap, tenant, order_ids)
    finally:
        retire(stack, tenant)


def read_back(stack, keap, tenant: Tenant, order_ids: dict[str, str]) -> dict[str, Synced]:
    ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
    orders = {name: order(keap, order_id) for name, order_id in order_ids.items()}
    figures = {name: keap_figures(body) for name, body in orders.items()}
    wanted = {f.invoice_number: f.paid for f in figures.values()}

    def all_landed() -> dict[str, str] | None:
        found = ledger.invoices(*wanted)
        paid = {invoice.number: invoice.paid for invoice in found}
        if len(found) == len(wanted) and paid == wanted:
            return {invoice.number: invoice.id for invoice in found}
        return None

    ids = wait_for(all_landed, step=0.25)
    assert ids, {
        name: (ledger.invoices(f.invoice_number), tenant.activity(orders[name]["invoice_id"]))
        for name, f in figures.items()
    }
    return {
        name: Synced(figures[name], orders[name], ledger.invoice(ids[figures[name].invoice_number]))
        for name in order_ids
    }


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
            charge_line("SHIPPING", "Shipping", "5.00"),
            charge_line("FINANCE_CHARGE", "Late fee", "1.25"),
            charge_line("DISCOUNT_ORDER_TOTAL", "Spring sale", "3.00"),
            charge_line("DISCOUNT_PRODUCT", "Widget offer", "2.00"),
            charge_line("TAX", "Sales tax", "2.00"),
        ],
    )
    paid_at_creation = place_order(
        keap, [product_line(widget, 1, "20.00"), charge_line("TAX", "Sales tax", "1.00")]
    )
    pay_on(keap, paid_at_creation["id"], Decimal("21.00"), f"{INVOICE_DATE}T12:00:00Z")
    on_a_plan = place_order(keap, [product_line(gadget, 3, "10.00")])
    add_payment_plan(keap, on_a_plan["id"], payments=3, days_between=30, start="2026-03-10")
    partly_paid = place_order(keap, taxed_order(keap))
    pay_on(keap, partly_paid["id"], Decimal("10.00"), "2026-03-05T10:00:00Z")
    with keap_currency(keap, "EUR"):
        euro_widget = keap.product("Euro widget", 1500)
        in_euros = place_order(
            keap, [product_line(euro_widget, 2, "15.00"), charge_line("SHIPPING", "Post", "4.00")]
        )
    return {
        "mixed": mixed["id"],
        "paid at creation": paid_at_creation["id"],
        "payment plan": on_a_plan["id"],
        "partly paid": partly_paid["id"],
        "euro": in_euros["id"],
    }


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
