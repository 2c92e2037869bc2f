"""Orders and payments placed in the Keap sandbox through its v2 API, the way a Keap user's
shop would, with the amounts as exact decimal strings."""

from __future__ import annotations

from decimal import Decimal

from tests.integration.transform.keap_stand_in import KeapStandIn


def taxed_order(keap: KeapStandIn) -> list[dict]:
    """2 × 12.50 of a taxable product, 5.00 shipping and 2.00 of sales tax: 32.00 in all."""
    widget = keap.product("Widget", 1250, sku="WID-1", taxable=True)
    return [
        {"product_id": widget, "quantity": 2, "item_type": "PRODUCT", "price_per_unit": "12.50"},
        {"name": "Shipping", "quantity": 1, "item_type": "SHIPPING", "price_per_unit": "5.00"},
        {"name": "Sales tax", "quantity": 1, "item_type": "TAX", "price_per_unit": "2.00"},
    ]


FREE_ORDER = [{"name": "Free sample", "quantity": 1, "item_type": "OTHER", "price_per_unit": "0"}]


def place_order(keap: KeapStandIn, lines: list[dict]) -> dict:
    return keap.order(lines)


def pay(keap: KeapStandIn, order_id: str, amount: Decimal) -> dict:
    body = {
        "payment_amount": str(amount),
        "apply_to_commissions": False,
        "payment_method_type": "Check",
        "notes": "paid by cheque",
        "payment_time": "2026-03-05T10:00:00Z",
    }
    return keap.api("POST", f"/orders/{order_id}/payments", body)


def add_line(keap: KeapStandIn, order_id: str, line: dict) -> dict:
    keap.api("POST", f"/orders/{order_id}/items", line)
    return keap.api("GET", f"/orders/{order_id}")


def order(keap: KeapStandIn, order_id: str) -> dict:
    return keap.api("GET", f"/orders/{order_id}")


def payment_ids(keap: KeapStandIn, order_id: str) -> list[str]:
    """The ids of the order's invoice payments, which the activity log names them by."""
    rows = keap.api("GET", f"/orders/{order_id}/payments")["invoice_order_payments"]
    return [row["id"] for row in rows]
