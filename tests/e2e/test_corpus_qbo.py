"""The seed product's rules, Keap to QuickBooks Online, through the whole running system:
orders placed in Keap's v2 API for tenants whose settings exercise each rule, read back from
the QBO sandbox as a bookkeeper would see them, with Keap's totals to the cent."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.e2e import corpus
from tests.e2e.corpus import SyncedOrder
from tests.e2e.destinations import qbo_items_of_the_company
from tests.e2e.keap_orders import (
    INVOICE_DATE,
    every_kind_of_charge,
    final_plan_date,
    place_order,
    place_orders_due_by_their_payments,
    product_line,
)
from tests.e2e.ledgers import KeapFigures, QboLedger

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

# A SKU of the QBO sandbox company's own item "Workbook".
WORKBOOK_SKU = "BOOK-01"


@dataclass(frozen=True)
class Synced(SyncedOrder):
    """One Keap order as it stands and the QBO invoice made of it."""

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
    """A QBO tenant whose items are the company's own, with SKU matching on or off."""

    def items_of_the_company(realm_id: str) -> dict:
        items = QboLedger(stack.qbo_url, realm_id).items_by_name()
        return qbo_items_of_the_company(stack.qbo_url, realm_id) | {
            "finance_charge_item_id": items["Services"],
            "sku_matching": sku_matching,
        }

    def read(ledger: QboLedger, figures: KeapFigures, order: dict, invoice_id: str) -> Synced:
        [row] = ledger.invoice_rows(figures.invoice_number)
        names = {item_id: name for name, item_id in ledger.items_by_name().items()}
        return Synced(figures, order, row, names, ledger.payment_amounts(invoice_id))

    return corpus.sync_orders(
        stack,
        keap,
        stack_redis,
        "qbo",
        ledger_settings=items_of_the_company,
        sync=sync,
        build=build,
        read=read,
    )


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
            *every_kind_of_charge(),
        ],
    )
    due_by_payments = place_orders_due_by_their_payments(keap, widget, gadget)
    return {"mixed": mixed["id"]} | due_by_payments


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
