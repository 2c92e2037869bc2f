"""Keap-only control routes: app currency, manual payment types, limits, firing hook deliveries,
accounts of their own for app ids."""

from flask import Blueprint, Response, jsonify, request

from invoicesync_sandbox.core.limits import RateLimitRule
from invoicesync_sandbox.keap.gateway import keap_state
from invoicesync_sandbox.keap.rules import KeapValidationError, check_currency_code

keap_control = Blueprint("keap_control", __name__, url_prefix="/_sandbox/keap")


@keap_control.route("/payment_types", methods=["GET", "PUT"])
def payment_types() -> Response | tuple[Response, int]:
    state = keap_state()
    if request.method == "PUT":
        body = request.get_json(silent=True)
        types = body.get("payment_types") if isinstance(body, dict) else body
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            return jsonify({"error": 'expected {"payment_types": [str, ...]}'}), 400
        state.payment_types = list(types)
    return jsonify({"payment_types": state.payment_types})


@keap_control.route("/currency", methods=["GET", "PUT"])
def currency() -> Response | tuple[Response, int]:
    """The app's currency (Ecommerce settings); orders and products created later use it."""
    state = keap_state()
    if request.method == "PUT":
        body = request.get_json(silent=True)
        try:
            code = check_currency_code(body.get("currency") if isinstance(body, dict) else None)
        except KeapValidationError as exc:
            return jsonify({"error": str(exc)}), 400
        state.currency = code
    return jsonify({"currency": state.currency})


@keap_control.put("/limits")
def limits() -> Response:
    """Shrink or restore Keap's per-client spike arrest, throttle and quota, and per-tenant
    throttle."""
    state = keap_state()
    body = request.get_json(silent=True) or {}
    if "throttle_per_minute" in body:
        state.throttle = RateLimitRule("throttle", int(body["throttle_per_minute"]), 60)
    if "spike_arrest_per_second" in body:
        state.spike_arrest = RateLimitRule("spike_arrest", int(body["spike_arrest_per_second"]), 1)
    if "quota_per_day" in body:
        state.quota = RateLimitRule("quota", int(body["quota_per_day"]), 86_400)
    if "tenant_throttle_per_minute" in body:
        limit = int(body["tenant_throttle_per_minute"])
        state.tenant_throttle = RateLimitRule("tenant_throttle", limit, 60)
    return jsonify(
        {
            "throttle_per_minute": state.throttle.limit,
            "spike_arrest_per_second": state.spike_arrest.limit,
            "quota_per_day": state.quota.limit,
            "tenant_throttle_per_minute": state.tenant_throttle.limit,
        }
    )


@keap_control.post("/hooks/fire")
def fire_hooks() -> Response:
    state = keap_state()
    for account in state.every_account():
        account.hooks.flush()
    state.webhooks.release_pending()
    return jsonify({"fired": True})


@keap_control.post("/accounts")
def open_account() -> Response | tuple[Response, int]:
    """Give an app id a Keap account of its own (empty; opening it again keeps its data)."""
    body = request.get_json(silent=True)
    app_id = body.get("app_id") if isinstance(body, dict) else None
    if not isinstance(app_id, str) or not app_id:
        return jsonify({"error": "app_id: expected a non-empty string"}), 400
    keap_state().open_account(app_id)
    return jsonify({"app_id": app_id, "own_account": True})
