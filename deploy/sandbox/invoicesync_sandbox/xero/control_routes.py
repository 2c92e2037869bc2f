"""Xero-only control routes: the webhook subscription and its intent-to-receive status."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from invoicesync_sandbox.core.app import current_state
from invoicesync_sandbox.xero.events import start_intent_to_receive
from invoicesync_sandbox.xero.state import WebhookSubscription

xero_control = Blueprint("xero_control", __name__, url_prefix="/_sandbox/xero")


def _describe(subscription: WebhookSubscription | None) -> dict:
    if subscription is None:
        return {"configured": False}
    return {
        "configured": True,
        "url": subscription.url,
        "active": subscription.active,
        "intent_checks": subscription.intent_checks,
        "intent_failures": subscription.intent_failures,
        "invoice_events_on_payment": subscription.invoice_events_on_payment,
    }


@xero_control.route("/webhooks", methods=["GET", "PUT"])
def webhooks() -> Response:
    state = current_state()
    if request.method == "PUT":
        body = request.get_json(force=True) or {}
        if not body.get("url") or not body.get("key"):
            return jsonify({"error": "url and key are required"}), 400
        state.webhook = WebhookSubscription(
            body["url"],
            body["key"],
            invoice_events_on_payment=bool(body.get("invoice_events_on_payment", False)),
        )
        start_intent_to_receive(state, state.webhook)
    return jsonify(_describe(state.webhook))
