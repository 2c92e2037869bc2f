"""Keap REST v2 sales payments: the list that resolves an `invoice.payment.*` hook id."""

from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, jsonify, request

from invoicesync_sandbox.keap.gateway import (
    add_limit_headers,
    guard_api_request,
    keap_bad_request,
    keap_state,
)
from invoicesync_sandbox.keap.order_requests import int_id
from invoicesync_sandbox.keap.representations import sales_payment_json
from invoicesync_sandbox.keap.rules import (
    Condition,
    KeapValidationError,
    compare,
    next_page_token,
    page_window,
    parse_filter,
    parse_order_by,
    parse_time,
)
from invoicesync_sandbox.keap.store import Payment

EQ = frozenset({"=="})
PAYMENT_FILTERS = {
    "id": frozenset({"==", ">", ">=", "<", "<="}),
    "ids": EQ,
    "amount": frozenset({"==", "<=", "<", ">=", ">", "!="}),
    "order_id": EQ,
    "order_ids": EQ,
    "contact_id": EQ,
    "since_time": EQ,
    "until_time": EQ,
    "merchant_account_id": EQ,
    "merchant_account_type": EQ,
}
PAYMENT_ORDER_BY = frozenset({"id", "amount", "payment_time", "contact_id"})

sales_v2 = Blueprint("keap_sales_v2", __name__, url_prefix="/crm/rest/v2")
sales_v2.before_request(guard_api_request)
sales_v2.after_request(add_limit_headers)


@sales_v2.errorhandler(KeapValidationError)
def _validation_failed(error: KeapValidationError) -> Response:
    return keap_bad_request(str(error))


def _id_list(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _amount(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise KeapValidationError(f"amount must be a number: {value}") from exc


def _check_values(conditions: list[Condition]) -> None:
    """Refuse a malformed value even when there is nothing to compare it with."""
    for condition in conditions:
        if condition.field == "id":
            int_id(condition.value, "id")
        elif condition.field == "amount":
            _amount(condition.value)
        elif condition.field in ("since_time", "until_time"):
            parse_time(condition.value, condition.field)


def _payment_matches(payment: Payment, condition: Condition) -> bool:
    field, op, value = condition.field, condition.op, condition.value
    order_ids = {str(order_id) for order_id in payment.allocations}
    if field == "id":
        return compare(payment.id, op, int_id(value, "id"))
    if field == "ids":
        return str(payment.id) in _id_list(value)
    if field == "amount":
        return compare(payment.amount, op, _amount(value))
    if field == "order_id":
        return value in order_ids
    if field == "order_ids":
        return bool(order_ids & _id_list(value))
    if field == "contact_id":
        return str(payment.contact.id) == value
    if field == "since_time":
        return payment.pay_time >= parse_time(value, field)
    if field == "until_time":
        return payment.pay_time <= parse_time(value, field)
    # Manual payments go through no merchant account, so no merchant filter matches them.
    return False


def _sort_key(field: str):
    if field == "payment_time":
        return lambda p: (p.pay_time, p.id)
    if field == "amount":
        return lambda p: (p.amount, p.id)
    if field == "contact_id":
        return lambda p: (p.contact.id, p.id)
    return lambda p: p.id


@sales_v2.get("/sales/payments")
def list_payments() -> Response:
    state = keap_state()
    conditions = parse_filter(request.args.get("filter"), PAYMENT_FILTERS)
    _check_values(conditions)
    field, descending = parse_order_by(request.args.get("order_by"), PAYMENT_ORDER_BY, "id")
    offset, size = page_window(request.args.get("page_size"), request.args.get("page_token"))
    with state.lock:
        found = [
            p
            for p in state.store.payments.values()
            if all(_payment_matches(p, c) for c in conditions)
        ]
        found.sort(key=_sort_key(field), reverse=descending)
        page = [sales_payment_json(p) for p in found[offset : offset + size]]
    return jsonify({"payments": page, "next_page_token": next_page_token(offset, size, len(found))})
