"""Keap v2 JSON, shaped like the spec's examples, loads into the typed Keap records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from invoicesync.clients.keap_schemas import (
    load_keap_order,
    load_order_page,
    load_order_payments_page,
    load_sales_payments_page,
)
from invoicesync.domain.keap_order import (
    KeapItemType,
    KeapOrderStatus,
    KeapPayStatus,
    KeapSourceType,
)
from tests.unit.domain import keap_corpus as corpus

# The spec's own example values, ids written as bare numbers the way its examples show them.
SPEC_ORDER_ITEM = {
    "id": 456,
    "name": "Premium Widget",
    "description": "High-quality widget with warranty",
    "notes": "Gift wrap requested",
    "quantity": 2,
    "item_type": "PRODUCT",
    "price_per_unit": {"amount": 10000, "currency_code": "USD", "formatted_amount": "$100.00"},
    "cost_per_unit": {"amount": 4000, "currency_code": "USD", "formatted_amount": "$40.00"},
    "product": {
        "id": 123,
        "name": "Premium Widget",
        "sku": "WDG-001",
        "description": "High-quality widget",
        "shippable": True,
        "taxable": True,
    },
    "subscription_id": 123,
}


def test_an_order_loads_with_minor_units_turned_into_currency_amounts():
    order = load_keap_order(corpus.WIDGET_ORDER)

    assert (order.id, order.invoice_id, order.title) == ("123", "456", "Online Order #123")
    assert (order.status, order.source_type) == (KeapOrderStatus.SENT, KeapSourceType.API)
    assert (order.currency, order.total, order.total_paid) == (
        "USD",
        Decimal("125.74"),
        Decimal("0.00"),
    )
    assert order.total_due == Decimal("125.74")
    assert order.order_time == datetime(2024, 5, 21, 14, 30, tzinfo=UTC)
    assert len(order.items) == 5


def test_the_contact_gets_the_only_company_an_order_carries_its_shipping_company():
    contact = load_keap_order(corpus.WIDGET_ORDER).contact

    assert (contact.id, contact.given_name, contact.family_name) == ("7", "Ann", "Lee")
    assert (contact.email, contact.company) == ("ann.lee@example.com", "Acme Corp")


def test_an_order_item_shaped_like_the_spec_example_loads():
    data = corpus.order_json([SPEC_ORDER_ITEM], total=20000)

    item = load_keap_order(data).items[0]

    assert (item.id, item.item_type, item.name) == ("456", KeapItemType.PRODUCT, "Premium Widget")
    assert (item.quantity, item.price_per_unit, item.cost_per_unit) == (
        Decimal(2),
        Decimal("100.00"),
        Decimal("40.00"),
    )
    assert (item.sku, item.taxable, item.product.id) == ("WDG-001", True, "123")
    assert item.subscription_id == "123"


def test_a_discount_item_keeps_its_amount_and_special():
    discount = load_keap_order(corpus.WIDGET_ORDER).items[-1]

    assert discount.item_type is KeapItemType.DISCOUNT_ORDER_TOTAL
    assert discount.item_type.is_discount
    assert (discount.discount, discount.price_per_unit) == (Decimal("10.00"), Decimal("-10.00"))
    assert discount.special.amount == Decimal(10)
    assert discount.special.discount_method == "AMOUNT"


def test_yen_and_dinar_amounts_use_their_own_minor_units():
    yen = load_keap_order(corpus.JPY_ORDER)
    dinar = load_keap_order(
        corpus.order_json(
            [corpus.item("1", "PRODUCT", "Oud", 12345, currency="KWD")], 12345, currency="KWD"
        )
    )

    assert (yen.total, yen.items[0].price_per_unit) == (Decimal(3500), Decimal(1500))
    assert dinar.total == Decimal("12.345")


def test_a_payment_plan_loads_with_its_scheduled_items():
    plan = load_keap_order(corpus.PAYMENT_PLAN_ORDER).payment_plan

    assert (plan.plan_start_date, plan.number_of_payments, plan.days_between_payments) == (
        date(2024, 5, 21),
        3,
        30,
    )
    assert plan.auto_charge
    assert [(i.due_date, i.amount_due, i.status) for i in plan.items][-1] == (
        date(2024, 7, 21),
        Decimal("100.00"),
        "UNPAID_AUTOCHARGE",
    )


def test_unknown_fields_and_enum_values_newer_than_our_spec_are_tolerated():
    data = corpus.order_json(
        [corpus.item("1", "GIFT_CARD", "Gift card", 1000, brand_new_field=1)],
        total=1000,
        status="ARCHIVED",
        source_type="SHOPIFY",
        brand_new_field={"x": 1},
    )

    order = load_keap_order(data)

    assert order.items[0].item_type is KeapItemType.UNKNOWN
    assert (order.status, order.source_type) == (KeapOrderStatus.UNKNOWN, KeapSourceType.UNKNOWN)


def test_the_v1_quickbooks_source_name_reads_as_quickbooks():
    data = corpus.order_json([], total=0, source_type="QBO_SYNC")

    assert load_keap_order(data).source_type is KeapSourceType.QUICKBOOKS


def test_nulls_and_missing_optional_fields_load_as_absent():
    data = {"id": "9", "total": None, "contact": None, "order_items": None, "payment_plan": None}

    order = load_keap_order(data)

    assert (order.total, order.items, order.payment_plan, order.contact.id) == (None, (), None, "")


@pytest.mark.parametrize(
    "data",
    [
        {"total": {"amount": 100}},
        {"id": "9", "total": {"amount": 1.5, "currency_code": "USD"}},
        {"id": "9", "order_time": "yesterday"},
        {"id": True},
    ],
)
def test_malformed_orders_are_rejected(data):
    with pytest.raises(ValidationError):
        load_keap_order(data)


def test_an_orders_page_loads_with_its_next_page_token():
    page = load_order_page({"orders": [corpus.WIDGET_ORDER], "next_page_token": "abc"})

    assert [o.id for o in page.items] == ["123"]
    assert page.next_page_token == "abc"
    assert load_order_page({"orders": []}).next_page_token is None


def test_order_payments_load_in_major_units_exactly():
    data = {
        "invoice_order_payments": [
            {
                "id": 123,
                "amount": 123.34,
                "note": "Monthly payment",
                "invoice_id": 456,
                "payment_id": 789,
                "pay_time": "2024-05-21T23:00:00Z",
                "pay_status": "APPROVED",
                "last_updated_time": "2024-05-21T23:00:00Z",
                "skip_commission": False,
                "refund_invoice_payment_id": 101,
            }
        ],
        "next_page_token": "",
    }

    page = load_order_payments_page(data)

    payment = page.items[0]
    assert (payment.id, payment.amount, payment.note) == (
        "123",
        Decimal("123.34"),
        "Monthly payment",
    )
    assert (payment.invoice_id, payment.payment_id, payment.refund_link_id) == ("456", "789", "101")
    assert payment.paid_at == datetime(2024, 5, 21, 23, tzinfo=UTC)
    assert payment.status is KeapPayStatus.APPROVED
    assert not payment.is_refund
    assert page.next_page_token is None


def test_refunded_order_payments_are_refunds():
    rows = [corpus.order_payment("1", -20.0, pay_status="REFUNDED")]

    assert load_order_payments_page({"invoice_order_payments": rows}).items[0].is_refund


def test_sales_payments_load_with_method_and_order_ids():
    data = {
        "payments": [
            {
                "id": "123",
                "type": "Credit Card",
                "amount": 123.34,
                "note": "InvoiceSync: Xero payment 9f3c",
                "status": "COMPLETED",
                "commissioned": False,
                "synced": False,
                "payment_time": "2024-05-21T14:30:00Z",
                "refund_payment_id": "124",
                "contact_id": "123",
                "order_ids": ["123", "456"],
                "update_time": "2024-05-21T14:30:00Z",
                "external_transaction_id": "txn_123",
                "merchant_account_type": "PAYPAL",
                "payment_method": {"payment_method_type": "CARD"},
            }
        ]
    }

    payment = load_sales_payments_page(data).items[0]

    assert (payment.method, payment.amount, payment.order_ids) == (
        "Credit Card",
        Decimal("123.34"),
        ("123", "456"),
    )
    assert payment.status is KeapPayStatus.COMPLETED and payment.status.is_settled
    assert payment.note.startswith("InvoiceSync:")
    assert not payment.is_refund
