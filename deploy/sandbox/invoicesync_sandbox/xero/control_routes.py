"""Xero-only control routes: the webhook subscription and its intent-to-receive status, and
an organisation's invoice history (what a real organisation holds before we connect)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from invoicesync_sandbox.core.app import current_state
from invoicesync_sandbox.xero.documents import build_contact, build_invoice
from invoicesync_sandbox.xero.events import start_intent_to_receive
from invoicesync_sandbox.xero.seed import HISTORY_INVOICE_NUMBERS
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


@xero_control.route("/webhooks", methods=["GET", "PUT", "DELETE"])
def webhooks() -> Response:
    state = current_state()
    if request.method == "DELETE":
        # The developer portal's "Delete" on the app's webhook: nothing is sent any more.
        state.webhook = None
    elif request.method == "PUT":
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


@xero_control.put("/organisations/<tenant_id>/invoice-history")
def invoice_history(tenant_id: str) -> Response:
    """Approved invoices the organisation raised itself: numbers from HISTORY_INVOICE_NUMBERS,
    a Reference of its own (no InvoiceSync marker), one customer."""
    state = current_state()
    books = state.store.books.get(tenant_id.lower())
    if books is None:
        return jsonify({"error": f"unknown organisation {tenant_id}"}), 404
    now = state.clock.now()
    made = []
    with state.store.lock:
        contact = build_contact(books, {"Name": "Walk-in Customer"}, None, now)
        for number in HISTORY_INVOICE_NUMBERS:
            element = {
                "Type": "ACCREC",
                "Status": "AUTHORISED",
                "InvoiceNumber": number,
                "Reference": f"Order {number}",
                "Contact": {"ContactID": contact["ContactID"]},
                "LineItems": [
                    {
                        "Description": "Consultation",
                        "Quantity": 1,
                        "UnitAmount": 75,
                        "AccountCode": "200",
                        "TaxType": "NONE",
                    }
                ],
            }
            record, _ = build_invoice(books, element, None, unitdp=2, now=now)
            books.invoices[record["InvoiceID"]] = record
            made.append({"InvoiceID": record["InvoiceID"], "InvoiceNumber": number})
    return jsonify({"invoice_history": made})


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


@xero_control.put("/organisations/<tenant_id>/accounts/<code>/status")
def account_status(tenant_id: str, code: str) -> Response:
    """`{"status": "ARCHIVED"}`: the organisation archives (or restores) one of its accounts, as
    its accountant does in Xero. An archived account stays in `GET /Accounts` but no document
    line may use it (spec/xero_accounting.yaml, Account.Status: "Accounts with a status of
    ACTIVE can be updated to ARCHIVED"; documents.py refuses the line)."""
    status = str((request.get_json(force=True) or {}).get("status", ""))
    if status not in ("ACTIVE", "ARCHIVED"):
        return jsonify({"error": "status is ACTIVE or ARCHIVED"}), 400
    state = current_state()
    books = state.store.books.get(tenant_id.lower())
    account = books.account_by_code(code) if books is not None else None
    if account is None:
        return jsonify({"error": f"no account {code} in organisation {tenant_id}"}), 404
    with state.store.lock:
        account["Status"] = status
    return jsonify({"code": code, "status": status})
