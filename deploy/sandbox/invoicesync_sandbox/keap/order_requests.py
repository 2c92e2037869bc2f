"""Validation of Keap v2 order, item and plan request bodies into store records."""

from datetime import date
from decimal import Decimal

from invoicesync_sandbox.keap.rules import (
    PRODUCT_ITEM_TYPES,
    WRITABLE_ITEM_TYPES,
    KeapValidationError,
    money,
    parse_time,
)
from invoicesync_sandbox.keap.store import KeapStore, OrderItem, PaymentPlanTerms

CREATE_ORDER_FIELDS = frozenset(
    {
        "notes", "terms", "title", "contact_id", "order_items", "order_title", "order_time",
        "order_type", "promo_codes", "lead_affiliate_id", "sales_affiliate_id",
        "shipping_address", "custom_fields", "sent_time", "due_time", "invoice_number",
        "external_create_user", "external_create_time", "external_update_time",
    }
)  # fmt: skip
CREATE_ITEM_FIELDS = frozenset(
    {
        "name", "description", "quantity", "notes", "product_id", "subscription_plan_id",
        "subscription_plan_description", "item_type", "price_per_unit", "cost_per_unit",
    }
)  # fmt: skip
PLAN_FIELDS = frozenset(
    {
        "auto_charge", "max_charge_attempts", "days_between_retries", "payment_method_id",
        "initial_payment_amount", "initial_payment_date", "plan_start_date",
        "number_of_payments", "days_between_payments",
    }
)  # fmt: skip
ORDER_EXTRA_FIELDS = (
    "notes", "terms", "lead_affiliate_id", "sales_affiliate_id", "invoice_number",
    "external_create_user", "external_create_time", "external_update_time", "sent_time",
    "due_time",
)  # fmt: skip


def reject_unknown(body: dict, allowed: frozenset[str], prefix: str = "") -> None:
    for name in body:
        if name not in allowed:
            raise KeapValidationError(f"Unrecognized property: {prefix}{name}")


def require_object(body: object) -> dict:
    if not isinstance(body, dict):
        raise KeapValidationError("Request body must be a JSON object")
    return body


def order_item_from(body: dict, store: KeapStore, position: str, currency: str) -> OrderItem:
    reject_unknown(body, CREATE_ITEM_FIELDS, position)
    quantity = body.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise KeapValidationError(f"{position}quantity must be greater than or equal to 1")
    item_type = body.get("item_type", "PRODUCT")
    if item_type not in WRITABLE_ITEM_TYPES:
        raise KeapValidationError(f"{position}item_type '{item_type}' is not valid")
    product = None
    if item_type in PRODUCT_ITEM_TYPES:
        if not body.get("product_id"):
            raise KeapValidationError(f"{position}product_id is required for item_type {item_type}")
        product = store.products.get(_int_id(body["product_id"], f"{position}product_id"))
        if product is None:
            raise KeapValidationError(f"{position}product_id {body['product_id']} is not valid")
    if "price_per_unit" in body:
        price = money(body["price_per_unit"], currency)
    elif product is not None:
        price = money(product.price, currency)
    else:
        raise KeapValidationError(f"{position}price_per_unit is required for item_type {item_type}")
    name = body.get("name") or (product.name if product else "")
    if not name.strip():
        raise KeapValidationError(f"{position}name is required for item_type {item_type}")
    return OrderItem(
        id=store.next_item_id(),
        item_type=item_type,
        name=name,
        quantity=quantity,
        price_per_unit=price,
        cost_per_unit=money(body.get("cost_per_unit", 0), currency),
        description=body.get("description", ""),
        notes=body.get("notes", ""),
        product=product,
    )


def check_create_order(body: dict) -> None:
    reject_unknown(body, CREATE_ORDER_FIELDS)
    for required in ("contact_id", "order_time", "order_title", "order_type"):
        if not body.get(required):
            raise KeapValidationError(f"{required} is required")
    if body["order_type"] not in ("ONLINE", "OFFLINE"):
        raise KeapValidationError("order_type must be one of ONLINE, OFFLINE")
    parse_time(body["order_time"], "order_time")
    for name in ("sent_time", "due_time", "external_create_time", "external_update_time"):
        if body.get(name):
            parse_time(body[name], name)
    if not isinstance(body.get("order_items", []), list):
        raise KeapValidationError("order_items must be an array")


def payment_plan_from(body: dict, currency: str) -> PaymentPlanTerms:
    reject_unknown(require_object(body), PLAN_FIELDS, "payment_plan.")
    for required in ("number_of_payments", "days_between_payments", "plan_start_date"):
        if body.get(required) in (None, ""):
            raise KeapValidationError(f"payment_plan.{required} is required")
    count, days = body["number_of_payments"], body["days_between_payments"]
    if not isinstance(count, int) or count < 1:
        raise KeapValidationError("payment_plan.number_of_payments must be at least 1")
    if not isinstance(days, int) or days < 0:
        raise KeapValidationError("payment_plan.days_between_payments must not be negative")
    initial_date = body.get("initial_payment_date")
    return PaymentPlanTerms(
        number_of_payments=count,
        days_between_payments=days,
        plan_start_date=_date(body["plan_start_date"], "payment_plan.plan_start_date"),
        auto_charge=bool(body.get("auto_charge", False)),
        max_charge_attempts=int(body.get("max_charge_attempts", 0)),
        days_between_retries=int(body.get("days_between_retries", 0)),
        payment_method_id=body.get("payment_method_id"),
        initial_payment_amount=money(body.get("initial_payment_amount", Decimal(0)), currency),
        initial_payment_date=_date(initial_date, "payment_plan.initial_payment_date")
        if initial_date
        else None,
    )


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise KeapValidationError(f"{field} must be an ISO-8601 date") from exc


def _int_id(value: object, field: str) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        raise KeapValidationError(f"{field} must be a valid id") from exc


def int_id(value: object, field: str) -> int:
    return _int_id(value, field)
