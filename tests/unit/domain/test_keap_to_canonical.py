"""Keap order → canonical invoice: lines, totals, dates, contact and currency."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination, LineKind, PaymentPlan
from invoicesync.domain.keap_order import (
    KeapContact,
    KeapItemType,
    KeapOrder,
    KeapOrderItem,
    KeapPaymentPlan,
)
from invoicesync.domain.keap_to_canonical import (
    KeapOrderMismatch,
    canonical_invoice_from_keap_order,
    canonical_payment_plan,
)
from invoicesync.domain.tenant_settings import (
    FinanceChargeHandling,
    SyncSettings,
    TaxHandling,
    TenantSettings,
)
from tests.unit.domain import keap_corpus as corpus

SETTINGS = TenantSettings(Destination.XERO)


def _invoice(data, settings=SETTINGS, payments=()):
    return canonical_invoice_from_keap_order(corpus.load(data), settings, "tenant-1", payments)


def _keap(**changes) -> TenantSettings:
    return dataclasses.replace(SETTINGS, keap=dataclasses.replace(SETTINGS.keap, **changes))


def _amounts(invoice) -> list[tuple[LineKind, Decimal]]:
    return [(line.kind, line.line_amount) for line in invoice.lines]


def test_every_keap_item_becomes_a_line_of_the_matching_kind_in_keap_order():
    invoice = _invoice(corpus.WIDGET_ORDER)

    assert _amounts(invoice) == [
        (LineKind.PRODUCT, Decimal("100.00")),
        (LineKind.PRODUCT, Decimal("19.99")),
        (LineKind.SHIPPING, Decimal("7.50")),
        (LineKind.TAX, Decimal("8.25")),
        (LineKind.DISCOUNT, Decimal("-10.00")),
    ]


def test_product_lines_keep_quantity_unit_price_sku_taxability_and_keap_name():
    widget, gadget = _invoice(corpus.WIDGET_ORDER).lines[:2]

    assert (widget.description, widget.quantity, widget.unit_amount) == (
        "Premium Widget",
        Decimal(2),
        Decimal("50.00"),
    )
    assert (widget.sku, widget.keap_product_id, widget.taxable) == ("WDG-1", "11", True)
    assert (gadget.sku, gadget.taxable) == ("GAD-1", False)


def test_totals_reconcile_with_keap_to_the_cent():
    totals = _invoice(corpus.WIDGET_ORDER).totals

    assert totals.subtotal == Decimal("117.49")
    assert totals.tax == Decimal("8.25")
    assert totals.total == Decimal("125.74")
    assert (totals.paid, totals.due) == (Decimal("0.00"), Decimal("125.74"))


def test_non_tax_lines_plus_tax_equal_the_total():
    invoice = _invoice(corpus.WIDGET_ORDER)
    non_tax = sum(line.line_amount for line in invoice.lines if line.kind is not LineKind.TAX)

    assert non_tax == invoice.totals.subtotal
    assert non_tax + invoice.totals.tax == invoice.totals.total


def test_a_discount_carried_on_a_product_item_becomes_its_own_negative_discount_line():
    invoice = _invoice(corpus.PER_ITEM_DISCOUNT_ORDER)

    assert _amounts(invoice) == [
        (LineKind.PRODUCT, Decimal("60.00")),
        (LineKind.DISCOUNT, Decimal("-5.00")),
        (LineKind.DISCOUNT, Decimal("-2.50")),
    ]
    assert invoice.lines[1].description == "Discount: Mug"
    assert invoice.totals.total == Decimal("52.50")


@pytest.mark.parametrize("price", [250, -250])
def test_discount_items_subtract_whatever_sign_keap_gives_their_price(price):
    data = corpus.order_json(
        [corpus.item("1", "PRODUCT", "A", 1000), corpus.item("2", "DISCOUNT", "Off", price)],
        total=750,
    )

    assert _amounts(_invoice(data))[-1] == (LineKind.DISCOUNT, Decimal("-2.50"))


@pytest.mark.parametrize(
    ("quantity", "price", "currency", "expected"),
    [
        (Decimal(3), Decimal("0.335"), "USD", Decimal("1.01")),  # 1.005 rounds half up
        (Decimal(3), Decimal("0.3333"), "USD", Decimal("1.00")),
        (Decimal(7), Decimal("1.4285"), "USD", Decimal("10.00")),  # 9.9995
        (Decimal(3), Decimal("0.5"), "JPY", Decimal("2")),  # ¥1.5 rounds to whole yen
        (Decimal(2), Decimal("1.0005"), "KWD", Decimal("2.001")),
    ],
)
def test_line_amount_is_quantity_times_price_rounded_half_up_to_the_minor_unit(
    quantity, price, currency, expected
):
    order = KeapOrder(
        id="9",
        contact=KeapContact(id="7", given_name="Ann"),
        items=(KeapOrderItem("1", KeapItemType.PRODUCT, "Thing", quantity, price),),
        currency=currency,
        order_time=datetime(2024, 5, 21, 12, tzinfo=UTC),
        total=expected,
    )

    line = canonical_invoice_from_keap_order(order, SETTINGS, "tenant-1").lines[0]

    assert (line.unit_amount, line.line_amount) == (price, expected)


def test_finance_charges_are_their_own_line_by_default():
    invoice = _invoice(corpus.FINANCE_CHARGE_ORDER)

    assert _amounts(invoice)[-1] == (LineKind.FINANCE_CHARGE, Decimal("1.50"))
    assert invoice.totals.total == Decimal("101.50")


def test_ignored_finance_charges_leave_the_invoice_and_its_total():
    invoice = _invoice(
        corpus.FINANCE_CHARGE_ORDER, _keap(finance_charges=FinanceChargeHandling.IGNORE)
    )

    assert [kind for kind, _ in _amounts(invoice)] == [LineKind.PRODUCT]
    assert invoice.totals.total == Decimal("100.00")


def test_tax_inclusive_tenants_get_no_tax_line_and_the_tax_inside_the_total():
    data = corpus.order_json(
        [
            corpus.item("1", "PRODUCT", "Koala", 11000, currency="AUD"),
            corpus.item("2", "TAX", "GST included", 1000, currency="AUD"),
        ],
        total=11000,
        currency="AUD",
    )

    invoice = _invoice(data, _keap(tax_handling=TaxHandling.INCLUSIVE))

    assert _amounts(invoice) == [(LineKind.PRODUCT, Decimal("110.00"))]
    assert invoice.tax_inclusive
    assert (invoice.totals.subtotal, invoice.totals.tax) == (Decimal("100.00"), Decimal("10.00"))
    assert invoice.totals.total == Decimal("110.00")


def test_an_order_whose_items_do_not_add_up_to_keaps_total_is_refused():
    data = corpus.order_json([corpus.item("1", "PRODUCT", "A", 1000)], total=1001)

    with pytest.raises(KeapOrderMismatch, match="10.01"):
        _invoice(data)


def test_currency_comes_from_the_order_and_australian_dollars_keep_cents():
    invoice = _invoice(corpus.AUD_ORDER)

    assert invoice.currency == "AUD"
    assert invoice.lines[0].line_amount == Decimal("99.99")
    assert invoice.totals.total == Decimal("109.99")


def test_yen_amounts_are_whole_yen():
    invoice = _invoice(corpus.JPY_ORDER)

    assert invoice.currency == "JPY"
    assert _amounts(invoice) == [
        (LineKind.PRODUCT, Decimal("3000")),
        (LineKind.SHIPPING, Decimal("500")),
    ]
    assert invoice.totals.total == Decimal("3500")


def test_currency_falls_back_to_the_tenants_keap_currency():
    order = dataclasses.replace(corpus.load(corpus.WIDGET_ORDER), currency=None)

    invoice = canonical_invoice_from_keap_order(order, _keap(currency="CAD"), "tenant-1")

    assert invoice.currency == "CAD"


def test_contact_carries_name_email_company_and_keap_id():
    contact = _invoice(corpus.WIDGET_ORDER).contact

    assert (contact.keap_id, contact.name) == ("7", "Ann Lee")
    assert (contact.email, contact.company) == ("ann.lee@example.com", "Acme Corp")


def test_a_contact_without_names_is_named_by_company_then_email():
    order = corpus.load(corpus.WIDGET_ORDER)
    nameless = dataclasses.replace(order, contact=KeapContact(id="7", email="x@example.com"))

    invoice = canonical_invoice_from_keap_order(nameless, SETTINGS, "tenant-1")

    assert invoice.contact.name == "x@example.com"


def test_ids_and_number_come_from_keaps_invoice_and_order():
    invoice = _invoice(corpus.WIDGET_ORDER)

    assert (invoice.tenant_id, invoice.keap_order_id) == ("tenant-1", "123")
    assert (invoice.keap_invoice_id, invoice.invoice_number) == ("456", "456")


def test_invoice_date_is_the_order_date_in_the_keap_apps_time_zone():
    data = corpus.order_json(
        [corpus.item("1", "PRODUCT", "A", 1000)], total=1000, order_time="2024-05-22T05:30:00Z"
    )

    assert _invoice(data).invoice_date == date(2024, 5, 22)
    assert _invoice(data, _keap(timezone="America/Phoenix")).invoice_date == date(2024, 5, 21)


def test_due_date_is_invoice_date_plus_the_configured_days():
    settings = dataclasses.replace(SETTINGS, sync=SyncSettings(due_date_days=14))

    invoice = _invoice(corpus.WIDGET_ORDER, settings)

    assert (invoice.invoice_date, invoice.due_date) == (date(2024, 5, 21), date(2024, 6, 4))


def test_a_payment_plan_makes_its_final_payment_date_the_due_date():
    invoice = _invoice(corpus.PAYMENT_PLAN_ORDER)

    assert invoice.payment_plan == PaymentPlan(date(2024, 7, 21), 3)
    assert invoice.due_date == date(2024, 7, 21)
    assert (invoice.totals.paid, invoice.totals.due) == (Decimal("100.00"), Decimal("200.00"))


def test_a_plan_without_scheduled_items_ends_after_its_last_interval():
    plan = KeapPaymentPlan(date(2024, 1, 10), number_of_payments=4, days_between_payments=15)

    assert canonical_payment_plan(plan) == PaymentPlan(date(2024, 2, 24), 4)


def test_a_plan_of_a_single_payment_is_no_plan():
    plan = KeapPaymentPlan(date(2024, 1, 10), number_of_payments=1, days_between_payments=30)

    assert canonical_payment_plan(plan) is None


def test_an_order_paid_on_its_invoice_date_is_paid_at_creation_and_due_that_day():
    payments = corpus.load_payments(corpus.PAID_AT_CHECKOUT_PAYMENTS)

    invoice = _invoice(corpus.PAID_AT_CHECKOUT_ORDER, payments=payments)

    assert invoice.paid_at_creation
    assert invoice.due_date == invoice.invoice_date == date(2024, 5, 21)


def test_an_order_paid_after_its_invoice_date_is_not_paid_at_creation():
    late = corpus.load_payments([corpus.order_payment("501", 25.0, "2024-05-28T09:00:00Z")])

    invoice = _invoice(corpus.PAID_AT_CHECKOUT_ORDER, payments=late)

    assert not invoice.paid_at_creation
    assert invoice.due_date == date(2024, 6, 20)


def test_without_payments_an_order_keap_reports_paid_counts_as_paid_at_creation():
    assert _invoice(corpus.PAID_AT_CHECKOUT_ORDER).paid_at_creation
    assert not _invoice(corpus.PARTLY_PAID_ORDER).paid_at_creation


def test_partial_payments_leave_the_rest_due():
    totals = _invoice(corpus.PARTLY_PAID_ORDER).totals

    assert (totals.total, totals.paid, totals.due) == (
        Decimal("200.00"),
        Decimal("100.00"),
        Decimal("100.00"),
    )


def test_a_zero_total_order_maps_to_a_zero_invoice():
    invoice = _invoice(corpus.ZERO_TOTAL_ORDER)

    assert invoice.totals.total == Decimal("0.00")
    assert not invoice.paid_at_creation


def test_the_invoice_carries_its_content_hash():
    invoice = _invoice(corpus.WIDGET_ORDER)

    assert len(invoice.content_hash) == 64
    assert _invoice(corpus.WIDGET_ORDER).content_hash == invoice.content_hash
    assert _invoice(corpus.AUD_ORDER).content_hash != invoice.content_hash


def test_tax_charged_with_no_line_flagged_taxable_is_carried_by_the_product_lines():
    data = corpus.order_json(
        [
            corpus.item(
                "1", "PRODUCT", "Widget", 2500, product=corpus.product("11", "W", "", False)
            ),
            corpus.item("2", "SHIPPING", "Ground", 500),
            corpus.item("3", "TAX", "Sales tax", 200),
        ],
        total=3200,
    )

    invoice = _invoice(data)

    taxable = {line.kind: line.taxable for line in invoice.lines}
    assert taxable == {LineKind.PRODUCT: True, LineKind.SHIPPING: False, LineKind.TAX: False}
    assert invoice.totals.tax == Decimal("2.00")


def test_an_untaxed_order_keeps_its_lines_untaxed():
    data = corpus.order_json(
        [corpus.item("1", "PRODUCT", "Widget", 2500, product=corpus.product("11", "W", "", False))],
        total=2500,
    )

    assert not any(line.taxable for line in _invoice(data).lines)
