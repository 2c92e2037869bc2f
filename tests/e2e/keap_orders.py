"""Orders and payments placed in the Keap sandbox through its v2 API, the way a Keap user's
shop would, with the amounts as exact decimal strings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from tests.integration.transform.keap_stand_in import KeapStandIn
from tests.waiting import eventually


def taxed_order(keap: KeapStandIn) -> list[dict]:
    """2 × 12.50 of a taxable product, 5.00 shipping and 2.00 of sales tax: 32.00 in all."""
    widget = keap.product("Widget", 1250, sku="WID-1", taxable=True)
    return [
        {"product_id": widget, "quantity": 2, "item_type": "PRODUCT", "price_per_unit": "12.50"},
        {"name": "Shipping", "quantity": 1, "item_type": "SHIPPING", "price_per_unit": "5.00"},
        {"name": "Sales tax", "quantity": 1, "item_type": "TAX", "price_per_unit": "2.00"},
    ]


# Longer than any batch of orders takes to place; `hooks_held` fires them itself.
HOLD_SECONDS = 60

FREE_ORDER = [{"name": "Free sample", "quantity": 1, "item_type": "OTHER", "price_per_unit": "0"}]


def place_order(keap: KeapStandIn, lines: list[dict]) -> dict:
    return keap.order(lines)


def settle_tenant(keap: KeapStandIn, tenant) -> None:
    """Place one more order and wait for its invoice in the activity log. A tenant's events keep
    their order through every topic, so all the tenant sent before it has been handled too:
    the positive signal to wait on before asserting that nothing happened twice."""
    later = place_order(keap, taxed_order(keap))
    eventually(
        lambda: "created" in tenant.activity_outcomes(str(later["invoice_id"])),
        f"a later order's invoice {later['invoice_id']} in the activity log",
    )


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


def product_line(product_id: str, quantity: int, price: str) -> dict:
    return {
        "product_id": product_id,
        "quantity": quantity,
        "item_type": "PRODUCT",
        "price_per_unit": price,
    }


def charge_line(item_type: str, name: str, price: str) -> dict:
    """One line of a kind Keap adds without a product: SHIPPING, TAX, FINANCE_CHARGE, DISCOUNT*."""
    return {"name": name, "quantity": 1, "item_type": item_type, "price_per_unit": price}


def every_kind_of_charge() -> list[dict]:
    """One line of each kind a mixed order carries beside its products: shipping, a finance
    charge, an order and a product discount, and sales tax."""
    return [
        charge_line("SHIPPING", "Shipping", "5.00"),
        charge_line("FINANCE_CHARGE", "Late fee", "1.25"),
        charge_line("DISCOUNT_ORDER_TOTAL", "Spring sale", "3.00"),
        charge_line("DISCOUNT_PRODUCT", "Widget offer", "2.00"),
        charge_line("TAX", "Sales tax", "2.00"),
    ]


def pay_on(keap: KeapStandIn, order_id: str, amount: Decimal, when: str) -> dict:
    """A cheque recorded as received at `when` (an ISO-8601 instant)."""
    body = {
        "payment_amount": str(amount),
        "apply_to_commissions": False,
        "payment_method_type": "Check",
        "notes": "paid by cheque",
        "payment_time": when,
    }
    return keap.api("POST", f"/orders/{order_id}/payments", body)


def add_payment_plan(
    keap: KeapStandIn, order_id: str, *, payments: int, days_between: int, start: str
) -> dict:
    """The order put on a manual payment plan; returns the order as Keap now shows it."""
    plan = {
        "number_of_payments": payments,
        "days_between_payments": days_between,
        "plan_start_date": start,
        "auto_charge": False,
    }
    return keap.api("PATCH", f"/orders/{order_id}", {"payment_plan": plan})


def final_plan_date(order: dict) -> str:
    """The due date of the plan's last scheduled payment, as Keap reports it."""
    return max(item["due_date"] for item in order["payment_plan"]["payment_plan_items"])


def newest_invoice_id(keap: KeapStandIn) -> int:
    """The highest invoice id Keap has issued so far (0 for an empty app)."""
    page = keap.api("GET", "/orders?order_by=id%20desc&page_size=1")["orders"]
    return int(page[0]["invoice_id"]) if page else 0


@contextmanager
def hooks_held(keap: KeapStandIn) -> Iterator[None]:
    """Keap's hook batches wait while the block places orders, payments and plans, then go out
    together: every order is read once it is complete, and all of them are in flight at once."""
    keap.control("PUT", "/_sandbox/faults", {"webhook_delay_seconds": HOLD_SECONDS})
    try:
        yield
    finally:
        keap.control("PUT", "/_sandbox/faults", {"webhook_delay_seconds": 0})
        keap.control("POST", "/_sandbox/keap/hooks/fire")


@contextmanager
def keap_currency(keap: KeapStandIn, currency: str) -> Iterator[None]:
    """The Keap app's currency switched for the products and orders made in the block."""
    before = keap.control("GET", "/_sandbox/keap/currency")["currency"]
    keap.control("PUT", "/_sandbox/keap/currency", {"currency": currency})
    try:
        yield
    finally:
        keap.control("PUT", "/_sandbox/keap/currency", {"currency": before})


# The date the corpus orders are placed on, by the sandbox's clock.
INVOICE_DATE = "2026-03-02"


def place_orders_due_by_their_payments(keap: KeapStandIn, widget: str, gadget: str) -> dict:
    """Orders whose due dates come from their payments, by name: one paid in full on its
    date, one on a three-payment plan, one partly paid; `widget` is a taxable product."""
    paid_at_creation = place_order(
        keap, [product_line(widget, 1, "20.00"), charge_line("TAX", "Sales tax", "1.00")]
    )
    pay_on(keap, paid_at_creation["id"], Decimal("21.00"), f"{INVOICE_DATE}T12:00:00Z")
    on_a_plan = place_order(keap, [product_line(gadget, 3, "10.00")])
    add_payment_plan(keap, on_a_plan["id"], payments=3, days_between=30, start="2026-03-10")
    partly_paid = place_order(keap, taxed_order(keap))
    pay_on(keap, partly_paid["id"], Decimal("10.00"), "2026-03-05T10:00:00Z")
    return {
        "paid at creation": paid_at_creation["id"],
        "payment plan": on_a_plan["id"],
        "partly paid": partly_paid["id"],
    }
