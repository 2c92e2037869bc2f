"""Keap REST v2 JSON shaped like the spec's OrderV2 / InvoiceOrderPayment / Payment examples."""

from __future__ import annotations

from typing import Any

from invoicesync.clients.keap_schemas import load_keap_order, load_order_payments_page
from invoicesync.domain.keap_order import KeapOrder, KeapPayment

_SYMBOL = {"USD": "$", "AUD": "A$", "JPY": "¥", "KWD": "KD"}
_DIGITS = {"JPY": 0, "KWD": 3}


def money(minor_units: int, currency: str = "USD") -> dict[str, Any]:
    digits = _DIGITS.get(currency, 2)
    major = minor_units / 10**digits
    return {
        "amount": minor_units,
        "currency_code": currency,
        "formatted_amount": f"{_SYMBOL.get(currency, '')}{major:,.{digits}f}",
    }


def product(product_id: str, name: str, sku: str = "", taxable: bool = True) -> dict[str, Any]:
    return {
        "id": product_id,
        "name": name,
        "sku": sku,
        "description": f"{name} description",
        "shippable": True,
        "taxable": taxable,
    }


def item(
    item_id: str,
    item_type: str,
    name: str,
    price: int,
    quantity: int = 1,
    currency: str = "USD",
    **extra: Any,
) -> dict[str, Any]:
    """An OrderItem; `price` in minor units, as Keap sends `price_per_unit`."""
    return {
        "id": item_id,
        "name": name,
        "description": "",
        "notes": "",
        "quantity": quantity,
        "item_type": item_type,
        "price_per_unit": money(price, currency),
        "cost_per_unit": money(0, currency),
        **extra,
    }


def order_json(
    items: list[dict[str, Any]],
    total: int,
    *,
    order_id: str = "123",
    invoice_id: str = "456",
    currency: str = "USD",
    paid: int = 0,
    status: str = "SENT",
    source_type: str = "API",
    order_time: str = "2024-05-21T14:30:00Z",
    payment_plan: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An OrderV2 with every field the spec lists; totals in minor units."""
    return {
        "id": order_id,
        "title": f"Online Order #{order_id}",
        "status": status,
        "total": money(total, currency),
        "contact": {
            "id": "7",
            "email": "ann.lee@example.com",
            "given_name": "Ann",
            "family_name": "Lee",
        },
        "notes": "Customer requested gift wrapping",
        "terms": "Net 30",
        "order_type": "ONLINE",
        "source_type": source_type,
        "creation_time": order_time,
        "modification_time": order_time,
        "order_time": order_time,
        "lead_affiliate_id": "456",
        "sales_affiliate_id": "789",
        "total_paid": money(paid, currency),
        "total_due": money(total - paid, currency),
        "shipping_information": {
            "id": "1",
            "company": "Acme Corp",
            "given_name": "Ann",
            "family_name": "Lee",
            "phone_number": "+1-555-123-4567",
            "invoice_to_company": False,
            "address": {"line1": "1 Main St", "locality": "Phoenix", "country_code": "USA"},
        },
        "refund_total": money(0, currency),
        "allow_payment": True,
        "allow_paypal": False,
        "order_items": items,
        "payment_plan": payment_plan,
        "files": [],
        "credit_status": "APPROVED",
        "promo_code": "SUMMER20",
        "refund_status": "NONE",
        "synced": False,
        "invoice_id": invoice_id,
        "custom_fields": [{"id": "1", "content": "VIP"}],
        **extra,
    }


def order_payment(
    payment_id: str,
    amount: float | int,
    pay_time: str = "2024-05-21T14:35:00Z",
    pay_status: str = "APPROVED",
    note: str = "",
    invoice_id: str = "456",
) -> dict[str, Any]:
    """An InvoiceOrderPayment row; `amount` in the currency's units."""
    return {
        "id": payment_id,
        "amount": amount,
        "note": note,
        "invoice_id": invoice_id,
        "payment_id": f"9{payment_id}",
        "pay_time": pay_time,
        "pay_status": pay_status,
        "last_updated_time": pay_time,
        "skip_commission": False,
    }


def load(data: dict[str, Any]) -> KeapOrder:
    return load_keap_order(data)


def load_payments(rows: list[dict[str, Any]]) -> tuple[KeapPayment, ...]:
    return load_order_payments_page({"invoice_order_payments": rows}).items


# Two taxable widgets, a non-taxable gadget, shipping, sales tax and an order-total discount:
# 2 × 50.00 + 19.99 + 7.50 + 8.25 − 10.00 = 125.74
WIDGET_ORDER = order_json(
    [
        item("1", "PRODUCT", "Premium Widget", 5000, 2, product=product("11", "Widget", "WDG-1")),
        item("2", "PRODUCT", "Gadget", 1999, product=product("12", "Gadget", "GAD-1", False)),
        item("3", "SHIPPING", "Ground shipping", 750),
        item("4", "TAX", "Sales tax", 825),
        item(
            "5",
            "DISCOUNT_ORDER_TOTAL",
            "SUMMER20",
            -1000,
            discount=money(1000),
            special={"amount": 10, "special_item_id": "77", "discount_method": "AMOUNT"},
        ),
    ],
    total=12574,
)

# A product discount carried on the product item itself, and a DISCOUNT_PRODUCT special:
# 3 × 20.00 − 5.00 (per item) − 2.50 (special) = 52.50
PER_ITEM_DISCOUNT_ORDER = order_json(
    [
        item("1", "PRODUCT", "Mug", 2000, 3, product=product("13", "Mug"), discount=money(500)),
        item("2", "DISCOUNT_PRODUCT", "Mug special", 250),
    ],
    total=5250,
)

# 100.00 + a 1.50 late-payment finance charge = 101.50
FINANCE_CHARGE_ORDER = order_json(
    [
        item("1", "SERVICE", "Consulting", 10000, product=product("14", "Consulting", "", False)),
        item("2", "FINANCE_CHARGE", "Late payment charge", 150),
    ],
    total=10150,
)

# 300.00 over three monthly payments, the last on 2024-07-21.
PAYMENT_PLAN_ORDER = order_json(
    [item("1", "PRODUCT", "Course", 30000, product=product("15", "Course", "CRS"))],
    total=30000,
    paid=10000,
    payment_plan={
        "auto_charge": True,
        "max_charge_attempts": 3,
        "days_between_retries": 7,
        "payment_method_id": "123",
        "initial_payment_amount": money(0),
        "initial_payment_percent": 0,
        "plan_start_date": "2024-05-21",
        "number_of_payments": 3,
        "days_between_payments": 30,
        "payment_plan_items": [
            {
                "status": "PAID",
                "due_date": "2024-05-21",
                "amount_due": money(10000),
                "amount_paid": money(10000),
            },
            {
                "status": "UNPAID_AUTOCHARGE",
                "due_date": "2024-06-20",
                "amount_due": money(10000),
                "amount_paid": money(0),
            },
            {
                "status": "UNPAID_AUTOCHARGE",
                "due_date": "2024-07-21",
                "amount_due": money(10000),
                "amount_paid": money(0),
            },
        ],
    },
)

# Bought through a checkout form and paid on the spot.
PAID_AT_CHECKOUT_ORDER = order_json(
    [item("1", "PRODUCT", "E-book", 2500, product=product("16", "E-book", "EBK", False))],
    total=2500,
    paid=2500,
    status="PAID",
    source_type="CHECKOUT_FORM",
)
PAID_AT_CHECKOUT_PAYMENTS = [order_payment("501", 25.0)]

# 200.00, paid 50.00 then 70.00, the second refunded 20.00, one failed card attempt.
PARTLY_PAID_ORDER = order_json(
    [item("1", "PRODUCT", "Workshop seat", 20000, product=product("17", "Seat", "SEAT"))],
    total=20000,
    paid=10000,
)
PARTLY_PAID_PAYMENTS = [
    order_payment("601", 50.0, "2024-05-25T10:00:00Z", "MANUAL_PAID"),
    order_payment("602", 70.0, "2024-06-01T10:00:00Z"),
    order_payment("603", -20.0, "2024-06-03T10:00:00Z", "REFUNDED"),
    order_payment("604", 70.0, "2024-05-30T10:00:00Z", "FAILED"),
]

ZERO_TOTAL_ORDER = order_json(
    [item("1", "PRODUCT", "Free sample", 0, product=product("18", "Sample", "SMP", False))],
    total=0,
)

# Australian dollars with 10% GST: 3 × 33.33 + 10.00 GST = 109.99
AUD_ORDER = order_json(
    [
        item("1", "PRODUCT", "Koala plush", 3333, 3, "AUD", product=product("19", "Koala", "KOA")),
        item("2", "TAX", "GST", 1000, currency="AUD"),
    ],
    total=10999,
    currency="AUD",
)

# Yen has no minor unit: amounts are whole yen. 2 × ¥1,500 + ¥500 shipping = ¥3,500
JPY_ORDER = order_json(
    [
        item("1", "PRODUCT", "Tea set", 1500, 2, "JPY", product=product("20", "Tea", "TEA")),
        item("2", "SHIPPING", "Shipping", 500, currency="JPY"),
    ],
    total=3500,
    currency="JPY",
)

QUICKBOOKS_ORDER = order_json(
    [item("1", "PRODUCT", "Imported", 1000, product=product("21", "Imported", "IMP"))],
    total=1000,
    source_type="QUICKBOOKS",
)
