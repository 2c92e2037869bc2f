"""The seed product's rules, Keap to QuickBooks Online, through the whole running system:
orders placed in Keap's v2 API for tenants whose settings exercise each rule, read back from
the QBO sandbox as a bookkeeper would see them, with Keap's totals to the cent."""

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
    newest_invoice_id,
    order,
    pay_on,
    place_order,
    product_line,
    taxed_order,
)
from tests.e2e.ledgers import KeapFigures, QboLedger, keap_figures
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

# A SKU of the QBO sandbox company's own item "Workbook".
WORKBOOK_SKU = "BOOK-01"
INVOICE_DATE = "2026-03-02"


@dataclass(frozen=True)
class Synced:
    """One Keap order as it stands and the QBO invoice made of it."""

    keap: KeapFigures
    order: dict
    invoice: dict
    items: dict[str, str]  # the company's item names by id
    linked_payments: list[Decimal]  # the amounts of the QBO payments applied to it

    def item_lines(self) -> dict[str, tuple[str, str, Decimal]]:
        """Each item line by description: (item name, tax code, amount)."""
        return {
            line["Description"]: (
                self.items[str(line["SalesItemLineDetail"]["ItemRef"]["value"])],
                line["SalesItemLineDetail"]["TaxCodeRef"]["value"],
                line["Amount"],
            )
            for line in self.invoice["Line"]
            if line["DetailType"] == "SalesItemLineDetail"
        }

    def discount_lines(self) -> list[dict]:
        return [line for line in self.invoice["Line"] if line["DetailType"] == "DiscountLineDetail"]

    def figures(self) -> tuple[Decimal, Decimal, Decimal]:
        return (
            self.invoice["TotalAmt"],
            self.invoice["TxnTaxDetail"]["TotalTax"],
            self.invoice["Balance"],
        )


def sync_orders(stack, keap, stack_redis, *, sku_matching: bool, sync: dict, build):
    """Onboard a QBO tenant, place `build(keap)`'s orders with Keap's hooks held so all are in
    flight at once, wait until QBO shows each with Keap's payments, then retire the tenant
    (every tenant of the run writes to the sandbox's one company)."""

    def items_of_the_company(realm_id: str) -> dict:
        items = QboLedger(stack.qbo_url, realm_id).items_by_name()
        return {
            "taxable_item_id": items["Taxable Product"],
            "non_taxable_item_id": items["Non-taxable Product"],
            "shipping_item_id": items["Shipping"],
            "finance_charge_item_id": items["Services"],
            "sku_matching": sku_matching,
        }

    tenant = onboard_from_here(
        stack,
        newest_invoice_id(keap),
        stack_redis,
        "qbo",
        ledger_settings=items_of_the_company,
        sync=sync,
    )
    try:
        with hooks_held(keap):
            order_ids = build(keap)
        return read_back(stack, keap, tenant, order_ids)
    finally:
        retire(stack, tenant)


def read_back(stack, keap, tenant: Tenant, order_ids: dict[str, str]) -> dict[str, Synced]:
    ledger = QboLedger(stack.qbo_url, tenant.ledger_id)
    names = {item_id: name for name, item_id in ledger.items_by_name().items()}
    orders = {name: order(keap, order_id) for name, order_id in order_ids.items()}
    figures = {name: keap_figures(body) for name, body in orders.items()}
    wanted = {f.invoice_number: f.due for f in figures.values()}

    def all_landed() -> dict[str, dict] | None:
        rows = ledger.invoice_rows(*wanted)
        balances = {row["DocNumber"]: row["Balance"] for row in rows}
        if len(rows) == len(wanted) and balances == wanted:
            return {row["DocNumber"]: row for row in rows}
        return None

    rows = wait_for(all_landed, step=0.25)
    assert rows, {
        name: (ledger.invoices(f.invoice_number), tenant.activity(orders[name]["invoice_id"]))
        for name, f in figures.items()
    }
    synced = {}
    for name in order_ids:
        row = rows[figures[name].invoice_number]
        linked = [p["TotalAmt"] for p in ledger.payments_linked_to(str(row["Id"]))]
        synced[name] = Synced(figures[name], orders[name], row, names, linked)
    return synced


def matched_orders(keap) -> dict[str, str]:
    widget = keap.product("Widget", 1250, sku="WID-1", taxable=True)
    gadget = keap.product("Gadget", 1000)
    workbook = keap.product("Keap workbook", 2499, sku=WORKBOOK_SKU)
    mixed = place_order(
        keap,
        [
            product_line(widget, 2, "12.50"),
            product_line(gadget, 1, "10.00"),
            product_line(workbook, 2, "24.99"),
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
    return {
        "mixed": mixed["id"],
        "paid at creation": paid_at_creation["id"],
        "payment plan": on_a_plan["id"],
        "partly paid": partly_paid["id"],
    }


def unmatched_orders(keap) -> dict[str, str]:
    workbook = keap.product("Keap workbook", 2499, sku=WORKBOOK_SKU)
    return {"sku matching off": place_order(keap, [product_line(workbook, 1, "24.99")])["id"]}


@pytest.fixture(scope="module")
def books(stack, keap, stack_redis) -> dict[str, Synced]:
    """Two tenants one after the other, SKU matching on and off, each with its orders at once."""
    synced = sync_orders(
        stack,
        keap,
        stack_redis,
        sku_matching=True,
        sync={"due_date_days": 10},
        build=matched_orders,
    )
    synced |= sync_orders(
        stack, keap, stack_redis, sku_matching=False, sync={}, build=unmatched_orders
    )
    return synced


@pytest.mark.parametrize(
    "name", ["mixed", "paid at creation", "payment plan", "partly paid", "sku matching off"]
)
def test_qbo_shows_keaps_total_tax_and_balance_to_the_cent(books, name):
    synced = books[name]

    assert synced.figures() == (synced.keap.total, synced.keap.tax, synced.keap.due)
    assert synced.invoice["DocNumber"] == synced.keap.invoice_number


def test_the_mixed_order_matches_keaps_own_figures(books):
    assert books["mixed"].figures() == (Decimal("88.23"), Decimal("2.00"), Decimal("88.23"))


def test_taxable_and_non_taxable_products_use_the_tenants_items_and_tax_codes(books):
    lines = books["mixed"].item_lines()

    assert lines["Widget"] == ("Taxable Product", "TAX", Decimal("25.00"))
    assert lines["Gadget"] == ("Non-taxable Product", "NON", Decimal("10.00"))


def test_a_product_whose_sku_matches_a_qbo_item_uses_that_item(books):
    assert books["mixed"].item_lines()["Keap workbook"] == ("Workbook", "NON", Decimal("49.98"))


def test_with_sku_matching_off_the_product_uses_the_non_taxable_item(books):
    assert books["sku matching off"].item_lines()["Keap workbook"][0] == "Non-taxable Product"


def test_shipping_and_finance_charges_use_their_items(books):
    lines = books["mixed"].item_lines()

    assert lines["Shipping"] == ("Shipping", "NON", Decimal("5.00"))
    assert lines["Late fee"] == ("Services", "NON", Decimal("1.25"))


def test_order_and_product_discounts_become_one_discount_line(books):
    [discount] = books["mixed"].discount_lines()

    assert discount["Amount"] == Decimal("5.00")
    assert discount["DiscountLineDetail"]["PercentBased"] is False
    assert "Spring sale" in discount["Description"] and "Widget offer" in discount["Description"]


def test_an_invoice_paid_at_creation_is_due_on_its_date_with_nothing_left(books):
    invoice = books["paid at creation"].invoice

    assert (invoice["TxnDate"], invoice["DueDate"]) == (INVOICE_DATE, INVOICE_DATE)
    assert invoice["Balance"] == Decimal("0.00")


def test_an_invoice_on_a_payment_plan_is_due_on_the_plans_final_payment(books):
    synced = books["payment plan"]

    assert synced.invoice["DueDate"] == final_plan_date(synced.order) == "2026-05-09"


@pytest.mark.parametrize(
    ("name", "due"), [("partly paid", "2026-03-12"), ("sku matching off", "2026-04-01")]
)
def test_otherwise_the_invoice_is_due_the_tenants_days_after_its_date(books, name, due):
    invoice = books[name].invoice

    assert (invoice["TxnDate"], invoice["DueDate"]) == (INVOICE_DATE, due)


def test_a_partial_payment_leaves_the_rest_as_the_balance_with_the_payment_linked(books):
    synced = books["partly paid"]

    assert (synced.invoice["TotalAmt"], synced.invoice["Balance"]) == (
        Decimal("32.00"),
        Decimal("22.00"),
    )
    assert synced.linked_payments == [Decimal("10.00")]


def test_a_payment_in_full_at_creation_is_linked_to_its_invoice(books):
    assert books["paid at creation"].linked_payments == [Decimal("21.00")]
