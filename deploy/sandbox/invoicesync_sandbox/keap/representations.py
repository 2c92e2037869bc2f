"""Keap REST v2 JSON for the sandbox's records, with the spec's field names and amount units."""

from datetime import datetime
from decimal import Decimal
from functools import partial

from invoicesync_sandbox.keap.rules import (
    DISCOUNT_TYPES,
    currency_value,
    payment_plan_items,
    to_minor_units,
)
from invoicesync_sandbox.keap.store import (
    Contact,
    Hook,
    Order,
    OrderItem,
    OrderPayment,
    Payment,
    Product,
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def order_json(order: Order) -> dict:
    currency = order.currency
    total, paid = order.total, order.total_paid
    major = order.money_units.get("currency_values") == "major"
    money = partial(currency_value, major_units=major)
    body = {
        "id": str(order.id),
        "title": order.title,
        "status": "PAID" if order.paid else order.extra.get("status", "DRAFT"),
        "total": money(total, currency),
        "contact": basic_contact_json(order.contact),
        "notes": order.extra.get("notes", ""),
        "terms": order.extra.get("terms", ""),
        "order_type": order.order_type,
        "source_type": order.source_type,
        "creation_time": iso(order.creation_time),
        "modification_time": iso(order.modification_time),
        "order_time": iso(order.order_time),
        "total_paid": money(paid, currency),
        "total_due": money(max(Decimal(0), total - paid), currency),
        "refund_total": money(Decimal(0), currency),
        "allow_payment": True,
        "allow_paypal": False,
        "order_items": [order_item_json(item, currency, major) for item in order.items],
        "invoice_id": str(order.invoice_id),
        "files": [],
        "credit_status": "NONE",
        "refund_status": "NONE",
        "synced": False,
        "custom_fields": [],
    }
    for name in ("sent_time", "due_time", "external_create_time", "external_update_time"):
        if order.extra.get(name):
            body[name] = order.extra[name]
    for name in (
        "lead_affiliate_id",
        "sales_affiliate_id",
        "invoice_number",
        "external_create_user",
    ):
        if order.extra.get(name):
            body[name] = str(order.extra[name])
    if order.payment_plan is not None:
        body["payment_plan"] = payment_plan_json(order, currency)
    return body


def basic_contact_json(contact: Contact) -> dict:
    emails = contact.body.get("email_addresses") or [{}]
    return {
        "id": str(contact.id),
        "email": emails[0].get("email", ""),
        "given_name": contact.body.get("given_name", ""),
        "family_name": contact.body.get("family_name", ""),
    }


def order_item_json(item: OrderItem, currency: str, major_units: bool = False) -> dict:
    money = partial(currency_value, major_units=major_units)
    body = {
        "id": str(item.id),
        "name": item.name,
        "description": item.description,
        "notes": item.notes,
        "quantity": item.quantity,
        "item_type": item.item_type,
        "price_per_unit": money(item.price_per_unit, currency),
        "cost_per_unit": money(item.cost_per_unit, currency),
    }
    if item.item_type in DISCOUNT_TYPES:
        body["discount"] = money(abs(item.amount), currency)
    if item.product is not None:
        body["product"] = {
            "id": str(item.product.id),
            "name": item.product.name,
            "sku": item.product.sku,
            "description": item.product.body.get("description", ""),
            "shippable": bool(item.product.body.get("shippable", False)),
            "taxable": bool(item.product.body.get("taxable", False)),
        }
    return body


def payment_plan_json(order: Order, currency: str) -> dict:
    plan = order.payment_plan
    assert plan is not None
    items = payment_plan_items(
        order.total,
        order.total_paid,
        number_of_payments=plan.number_of_payments,
        days_between_payments=plan.days_between_payments,
        plan_start_date=plan.plan_start_date,
        currency=currency,
        initial_payment_amount=plan.initial_payment_amount,
        initial_payment_date=plan.initial_payment_date,
    )
    unpaid = "UNPAID_AUTOCHARGE" if plan.auto_charge else "UNPAID_MANUAL"
    body = {
        "auto_charge": plan.auto_charge,
        "max_charge_attempts": plan.max_charge_attempts,
        "days_between_retries": plan.days_between_retries,
        "initial_payment_amount": currency_value(plan.initial_payment_amount, currency),
        "plan_start_date": plan.plan_start_date.isoformat(),
        "number_of_payments": plan.number_of_payments,
        "days_between_payments": plan.days_between_payments,
        "payment_plan_items": [
            {
                "status": "PAID" if item.amount_paid >= item.amount_due else unpaid,
                "due_date": item.due_date.isoformat(),
                "amount_due": currency_value(item.amount_due, currency),
                "amount_paid": currency_value(item.amount_paid, currency),
            }
            for item in items
        ],
    }
    if plan.payment_method_id:
        body["payment_method_id"] = plan.payment_method_id
    if plan.initial_payment_date:
        body["initial_payment_date"] = plan.initial_payment_date.isoformat()
    return body


def order_payment_json(order: Order, payment: OrderPayment) -> dict:
    # InvoiceOrderPayment.amount is a plain number in the spec; major units like payment_amount.
    # An order set to present "order_payments" in minor units sends what the spec's own
    # example suggests instead (`amount: 10000`, keap_rest_v2.yml InvoiceOrderPayment).
    amount: float | int = float(payment.amount)
    if order.money_units.get("order_payments") == "minor":
        amount = to_minor_units(payment.amount, order.currency)
    return {
        "id": str(payment.id),
        "amount": amount,
        "note": payment.note,
        "invoice_id": str(order.invoice_id),
        "payment_id": str(payment.payment_id),
        "pay_time": iso(payment.pay_time),
        "pay_status": payment.pay_status,
        "last_updated_time": iso(payment.last_updated_time),
        "skip_commission": payment.skip_commission,
    }


def payment_result_json(order: Order, payment: Payment) -> dict:
    return {
        "id": str(payment.id),
        "invoice_id": str(order.invoice_id),
        "payment_amount": float(payment.allocations[order.id]),
        "payment_status_message": "APPROVED",
        "transaction_id": str(payment.transaction_id),
    }


def sales_payment_json(payment: Payment) -> dict:
    """A `Payment` of GET /sales/payments: a manual payment has no merchant account or card."""
    return {
        "id": str(payment.id),
        "type": payment.method_type,
        "amount": float(payment.amount),
        "note": payment.note,
        "status": "APPROVED",
        "commissioned": payment.commissioned,
        "synced": False,
        "payment_time": iso(payment.pay_time),
        "update_time": iso(payment.update_time),
        "contact_id": str(payment.contact.id),
        "order_ids": [str(order_id) for order_id in payment.allocations],
    }


def contact_json(contact: Contact, fields: set[str] | None = None) -> dict:
    body = {
        "id": str(contact.id),
        **contact.body,
        "create_time": iso(contact.create_time),
        "update_time": iso(contact.update_time),
    }
    if fields:
        body = {key: value for key, value in body.items() if key == "id" or key in fields}
    return body


def product_json(product: Product) -> dict:
    body = {
        "id": str(product.id),
        "name": product.name,
        "sku": product.sku,
        "price": currency_value(product.price, product.currency),
        "active": bool(product.body.get("active", True)),
        "description": product.body.get("description", ""),
        "short_description": product.body.get("short_description", ""),
        "shippable": bool(product.body.get("shippable", False)),
        "taxable": bool(product.body.get("taxable", False)),
        "subscription_only": bool(product.body.get("subscription_only", False)),
        "storefront_hidden": bool(product.body.get("storefront_hidden", False)),
        "categories": [],
        "create_time": iso(product.create_time),
        "update_time": iso(product.update_time),
    }
    return body


def hook_json(hook: Hook) -> dict:
    return {
        "key": hook.key,
        "eventKey": hook.event_key,
        "hookUrl": hook.hook_url,
        "status": hook.status,
    }


def transaction_v1_json(payment: Payment) -> dict:
    """A v1 `Transaction` (reference/keap.md §4.1, [V1]): integer ids, major-unit amount,
    `order_ids` as one comma-separated string, and v1's mixed casing (`paymentDate`)."""
    return {
        "id": payment.transaction_id,
        "amount": float(payment.amount),
        "currency": None,
        "status": "Approved",
        "type": "Sale",
        "gateway": "MANUAL",
        "gateway_account_name": "",
        "collection_method": "MANUAL",
        "contact_id": payment.contact.id,
        "order_ids": ",".join(str(order_id) for order_id in payment.allocations),
        "orders": [{"id": order_id} for order_id in payment.allocations],
        "transaction_date": iso(payment.update_time),
        "paymentDate": iso(payment.pay_time),
        "errors": None,
        "test": False,
    }
