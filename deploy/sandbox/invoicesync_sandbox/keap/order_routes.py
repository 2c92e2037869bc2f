"""Keap REST v2 order routes: list/get/create/update/delete orders, add items, order payments."""

from flask import Blueprint, Response, jsonify, request

from invoicesync_sandbox.keap.gateway import (
    add_limit_headers,
    guard_api_request,
    keap_bad_request,
    keap_not_found,
    keap_state,
)
from invoicesync_sandbox.keap.order_events import (
    order_changed,
    order_created,
    order_deleted,
    payment_added,
)
from invoicesync_sandbox.keap.order_requests import (
    ORDER_EXTRA_FIELDS,
    check_create_order,
    int_id,
    order_item_from,
    payment_plan_from,
    require_object,
)
from invoicesync_sandbox.keap.payment_records import record_payment
from invoicesync_sandbox.keap.representations import (
    order_item_json,
    order_json,
    order_payment_json,
    payment_result_json,
)
from invoicesync_sandbox.keap.rules import (
    KeapValidationError,
    check_manual_payment,
    compare,
    next_page_token,
    order_balance,
    page_window,
    parse_filter,
    parse_order_by,
    parse_time,
    wildcard_match,
)
from invoicesync_sandbox.keap.store import Order

EQ = frozenset({"=="})
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
ORDER_FILTERS = {
    "id": COMPARISONS,
    "ids": EQ,
    "product_id": EQ,
    "contact_id": EQ,
    "invoice_id": EQ,
    "paid": EQ,
    "created_since_time": EQ,
    "created_until_time": EQ,
    "modified_since_time": EQ,
    "modified_until_time": EQ,
    "title": EQ,
    "order_type": EQ,
}
PAYMENT_FILTERS = {name: EQ for name in ("invoice_id", "payment_id", "amount", "pay_status")}
PATCHABLE = frozenset({"payment_plan", "title", "order_title", "due_time", "sent_time"}) | set(
    ORDER_EXTRA_FIELDS
)

orders_v2 = Blueprint("keap_orders_v2", __name__, url_prefix="/crm/rest/v2")
orders_v2.before_request(guard_api_request)
orders_v2.after_request(add_limit_headers)


@orders_v2.errorhandler(KeapValidationError)
def _validation_failed(error: KeapValidationError) -> Response:
    return keap_bad_request(str(error))


def _order_or_none(order_id: str) -> Order | None:
    try:
        return keap_state().store.orders.get(int(order_id))
    except ValueError:
        return None


def _matches(order: Order, condition) -> bool:
    field, op, value = condition.field, condition.op, condition.value
    if field == "id":
        return compare(order.id, op, int_id(value, "id"))
    if field == "ids":
        return str(order.id) in {part.strip() for part in value.split(",")}
    if field == "product_id":
        return any(item.product and str(item.product.id) == value for item in order.items)
    if field == "contact_id":
        return str(order.contact.id) == value
    if field == "invoice_id":
        return str(order.invoice_id) == value
    if field == "paid":
        return order.paid == (value.lower() == "true")
    if field == "title":
        return wildcard_match(order.title, value)
    if field == "order_type":
        return order.order_type == value
    moment = parse_time(value, field)
    stamp = order.creation_time if field.startswith("created") else order.modification_time
    return stamp >= moment if field.endswith("since_time") else stamp <= moment


@orders_v2.get("/orders")
def list_orders() -> Response:
    state = keap_state()
    conditions = parse_filter(request.args.get("filter"), ORDER_FILTERS)
    field, descending = parse_order_by(
        request.args.get("order_by"), frozenset({"id", "order_time", "modification_time"}), "id"
    )
    offset, size = page_window(request.args.get("page_size"), request.args.get("page_token"))
    with state.lock:
        found = [o for o in state.store.orders.values() if all(_matches(o, c) for c in conditions)]
        found.sort(key=lambda o: (getattr(o, field), o.id), reverse=descending)
        page = [order_json(o) for o in found[offset : offset + size]]
    return jsonify({"orders": page, "next_page_token": next_page_token(offset, size, len(found))})


@orders_v2.get("/orders/<order_id>")
def get_order(order_id: str) -> Response:
    order = _order_or_none(order_id)
    if order is None:
        return keap_not_found(f"Order {order_id} not found")
    return jsonify(order_json(order))


@orders_v2.delete("/orders/<order_id>")
def delete_order(order_id: str) -> Response | tuple[str, int]:
    state = keap_state()
    with state.lock:
        order = _order_or_none(order_id)
        if order is None:
            return keap_not_found(f"Order {order_id} not found")
        if order.payments:
            raise KeapValidationError(
                f"Order {order_id} has transactions recorded and cannot be deleted"
            )
        del state.store.orders[order.id]
    order_deleted(state.hooks, order)
    return "", 204


@orders_v2.post("/orders")
def create_order() -> tuple[Response, int] | Response:
    state = keap_state()
    body = require_object(request.get_json(silent=True))
    check_create_order(body)
    with state.lock:
        contact = state.store.contacts.get(int_id(body["contact_id"], "contact_id"))
        if contact is None:
            raise KeapValidationError(f"contact_id {body['contact_id']} is not valid")
        currency = state.currency
        items = [
            order_item_from(require_object(item), state.store, f"order_items[{index}].", currency)
            for index, item in enumerate(body.get("order_items", []))
        ]
        now = state.clock.now()
        order_id, invoice_id = state.store.next_order_ids()
        order = Order(
            id=order_id,
            invoice_id=invoice_id,
            contact=contact,
            title=body.get("title") or body["order_title"],
            order_type=body["order_type"],
            order_time=parse_time(body["order_time"], "order_time"),
            creation_time=now,
            modification_time=now,
            currency=currency,
            items=items,
            extra={name: body[name] for name in ORDER_EXTRA_FIELDS if body.get(name)},
        )
        if body.get("sent_time"):
            order.extra["status"] = "SENT"
        state.store.orders[order_id] = order
    order_created(state.hooks, order)
    return jsonify(order_json(order)), 201


@orders_v2.patch("/orders/<order_id>")
def update_order(order_id: str) -> Response:
    state = keap_state()
    body = require_object(request.get_json(silent=True))
    mask = [name for value in request.args.getlist("update_mask") for name in value.split(",")]
    names = [name for name in (mask or list(body)) if name in body]
    for name in names:
        if name not in PATCHABLE:
            raise KeapValidationError(f"Unrecognized property: {name}")
    with state.lock:
        order = _order_or_none(order_id)
        if order is None:
            return keap_not_found(f"Order {order_id} not found")
        for name in names:
            if name == "payment_plan":
                order.payment_plan = payment_plan_from(body[name], order.currency)
            elif name in ("title", "order_title"):
                order.title = body[name]
            else:
                order.extra[name] = body[name]
        order.modification_time = state.clock.now()
    order_changed(state.hooks, order)
    return jsonify(order_json(order))


@orders_v2.post("/orders/<order_id>/items")
def create_order_item(order_id: str) -> tuple[Response, int] | Response:
    state = keap_state()
    body = require_object(request.get_json(silent=True))
    with state.lock:
        order = _order_or_none(order_id)
        if order is None:
            return keap_not_found(f"Order {order_id} not found")
        item = order_item_from(body, state.store, "", order.currency)
        order.items.append(item)
        order.modification_time = state.clock.now()
    order_changed(state.hooks, order)
    return jsonify(order_item_json(item, order.currency)), 201


@orders_v2.get("/orders/<order_id>/payments")
def list_order_payments(order_id: str) -> Response:
    order = _order_or_none(order_id)
    if order is None:
        return keap_not_found(f"Order {order_id} not found")
    conditions = parse_filter(request.args.get("filter"), PAYMENT_FILTERS)
    offset, size = page_window(request.args.get("page_size"), request.args.get("page_token"))
    rows = [order_payment_json(order, payment) for payment in order.payments]
    rows = [row for row in rows if all(_payment_matches(row, c) for c in conditions)]
    return jsonify(
        {
            "invoice_order_payments": rows[offset : offset + size],
            "next_page_token": next_page_token(offset, size, len(rows)),
        }
    )


def _payment_matches(row: dict, condition) -> bool:
    if condition.field == "amount":
        return str(row["amount"]) == condition.value or row["amount"] == float(condition.value)
    return str(row[condition.field]) == condition.value


@orders_v2.post("/orders/<order_id>/payments")
def create_order_payment(order_id: str) -> tuple[Response, int] | Response:
    state = keap_state()
    body = require_object(request.get_json(silent=True))
    with state.lock:
        order = _order_or_none(order_id)
        if order is None:
            return keap_not_found(f"Order {order_id} not found")
        balance = order_balance(order.total, order.total_paid)
        amount, method_type = check_manual_payment(
            body, balance, state.payment_types, order.currency
        )
        now = state.clock.now()
        payment = record_payment(
            state.store,
            [(order, amount)],
            method_type=method_type,
            note=body.get("notes", ""),
            pay_time=parse_time(body["payment_time"], "payment_time")
            if body.get("payment_time")
            else now,
            now=now,
            skip_commission=not body["apply_to_commissions"],
        )
    payment_added(state.hooks, payment)
    return jsonify(payment_result_json(order, payment)), 201
