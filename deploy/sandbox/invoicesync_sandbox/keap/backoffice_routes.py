"""Control routes for what only Keap itself does: its QuickBooks sync, payments split over orders.

The public API cannot set an order's `source_type` (orders it creates are `API`) nor apply one
payment to several orders; Keap's own QuickBooks integration and its payment screens can.
"""

from flask import Blueprint, Response, jsonify, request

from invoicesync_sandbox.keap.gateway import keap_state
from invoicesync_sandbox.keap.order_events import order_changed, payment_added
from invoicesync_sandbox.keap.order_requests import int_id
from invoicesync_sandbox.keap.payment_records import check_allocations, record_payment
from invoicesync_sandbox.keap.representations import order_json, sales_payment_json
from invoicesync_sandbox.keap.rules import (
    KeapValidationError,
    check_manual_payment_type,
    money,
    parse_time,
)

SOURCE_TYPES = frozenset(
    {"API", "CHECKOUT_FORM", "INVOICE", "MANUAL_PAYMENT", "QUICKBOOKS", "UNKNOWN"}
)

keap_backoffice = Blueprint("keap_backoffice", __name__, url_prefix="/_sandbox/keap")


@keap_backoffice.errorhandler(KeapValidationError)
def _refused(error: KeapValidationError) -> tuple[Response, int]:
    return jsonify({"error": str(error)}), 400


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise KeapValidationError("expected a JSON object")
    return body


@keap_backoffice.put("/orders/<order_id>/source_type")
def set_source_type(order_id: str) -> Response | tuple[Response, int]:
    """Mark an order as made by another source, e.g. QUICKBOOKS for Keap's own QBO sync."""
    state = keap_state()
    source_type = _body().get("source_type")
    if source_type not in SOURCE_TYPES:
        raise KeapValidationError(f"source_type must be one of {sorted(SOURCE_TYPES)}")
    with state.lock:
        order = state.store.orders.get(int_id(order_id, "order_id"))
        if order is None:
            return jsonify({"error": f"Order {order_id} not found"}), 404
        order.source_type = source_type
        order.modification_time = state.clock.now()
    order_changed(state.hooks, order)
    return jsonify(order_json(order))


MONEY_UNIT_CHOICES = {"currency_values": ("minor", "major"), "order_payments": ("major", "minor")}


@keap_backoffice.put("/orders/<order_id>/money_units")
def set_money_units(order_id: str) -> Response | tuple[Response, int]:
    """Present one order's amounts in the other unit the inconsistent spec allows for.

    The v2 spec types `CurrencyValue.amount` as "the price amount in the smallest currency unit"
    and `InvoiceOrderPayment.amount` as a plain number, yet shows `amount: 10000` as the latter's
    example (keap_rest_v2.yml; reference/keap.md §3.3). Live Keap is unverified, so tests need
    an order read the other way. Body: {"currency_values": "major"} and/or
    {"order_payments": "minor"}; the defaults are the spec's types.
    """
    state = keap_state()
    body = _body()
    for name, value in body.items():
        if value not in MONEY_UNIT_CHOICES.get(name, ()):
            raise KeapValidationError(f"{name} must be one of {MONEY_UNIT_CHOICES.get(name)}")
    with state.lock:
        order = state.store.orders.get(int_id(order_id, "order_id"))
        if order is None:
            return jsonify({"error": f"Order {order_id} not found"}), 404
        order.money_units.update(body)
    return jsonify(order_json(order))


@keap_backoffice.post("/payments")
def create_split_payment() -> tuple[Response, int]:
    """One manual payment from one contact applied to several orders, as Keap's UI allows.

    Body: {"payment_method_type": "Cash", "allocations": [{"order_id": "1", "amount": 10.0}, ...],
    "notes": "...", "payment_time": "<ISO-8601>", "apply_to_commissions": false}.
    """
    state = keap_state()
    body = _body()
    entries = body.get("allocations")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise KeapValidationError('allocations must be [{"order_id": ..., "amount": ...}, ...]')
    with state.lock:
        method_type = check_manual_payment_type(
            body.get("payment_method_type"), state.payment_types
        )
        allocations = []
        for entry in entries:
            order = state.store.orders.get(int_id(entry.get("order_id"), "order_id"))
            if order is None:
                raise KeapValidationError(f"order_id {entry.get('order_id')} is not valid")
            allocations.append((order, money(entry.get("amount"), order.currency)))
        check_allocations(allocations)
        now = state.clock.now()
        payment = record_payment(
            state.store,
            allocations,
            method_type=method_type,
            note=body.get("notes", ""),
            pay_time=parse_time(body["payment_time"], "payment_time")
            if body.get("payment_time")
            else now,
            now=now,
            skip_commission=not body.get("apply_to_commissions", False),
        )
    payment_added(state.hooks, payment)
    return jsonify(sales_payment_json(payment)), 201
