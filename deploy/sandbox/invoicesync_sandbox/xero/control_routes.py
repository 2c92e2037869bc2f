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
    }


@xero_control.route("/webhooks", methods=["GET", "PUT"])
def webhooks() -> Response:
    state = current_state()
    if request.method == "PUT":
        body = request.get_json(force=True) or {}
        if not body.get("url") or not body.get("key"):
            return jsonify({"error": "url and key are required"}), 400
        state.webhook = WebhookSubscription(body["url"], body["key"])
        start_intent_to_receive(state, state.webhook)
    return jsonify(_describe(state.webhook))


@xero_control.put("/consent")
def consent_plan() -> Response:
    """`{"user_id": "demo-user", "organisations": ["Org A", "Org B"]}`: the user's next consents
    tick these organisations (created on first mention); an empty list restores the default."""
    state = current_state()
    body = request.get_json(force=True) or {}
    names = [str(name) for name in body.get("organisations", [])]
    user_id = str(body.get("user_id", "demo-user"))
    if names:
        state.consent_plans[user_id] = names
    else:
        state.consent_plans.pop(user_id, None)
    return jsonify({"user_id": user_id, "organisations": names})


@xero_control.post("/organisations/<tenant_id>/remove-app")
def remove_app(tenant_id: str) -> Response:
    """The organisation disconnects the app from its side (Xero's "Connected apps" page)."""
    return jsonify(
        {"tenant_id": tenant_id, "connections_removed": current_state().remove_app(tenant_id)}
    )
