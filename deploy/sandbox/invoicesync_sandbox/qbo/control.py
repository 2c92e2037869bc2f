"""QBO's own control routes under `/_sandbox/qbo/`: webhook target and company flags."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, jsonify, request

from invoicesync_sandbox.core.app import current_state

from .notifications import CLOUDEVENTS, DEFAULT_ENTITIES, LEGACY, WebhookTarget
from .seed import add_invoice_history, add_us_sales_tax, new_company
from .state import QboState

control = Blueprint("qbo_control", __name__, url_prefix="/_sandbox/qbo")


def _state() -> QboState:
    return current_state()  # type: ignore[return-value]


def _bad(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 400
    return response


def _target_json(target: WebhookTarget | None) -> dict:
    if target is None:
        return {"url": None}
    return {"url": target.url, "format": target.format, "entities": list(target.entities)}


@control.route("/webhooks", methods=["GET", "PUT"])
def webhooks() -> Response:
    state = _state()
    if request.method == "PUT":
        body = request.get_json(force=True) or {}
        if not body.get("url"):
            state.webhook_target = None
            return jsonify(_target_json(None))
        if not body.get("verifier_token"):
            return _bad("verifier_token is required")
        kind = body.get("format", CLOUDEVENTS)
        if kind not in (CLOUDEVENTS, LEGACY):
            return _bad(f"format must be {CLOUDEVENTS} or {LEGACY}")
        entities = tuple(body.get("entities") or DEFAULT_ENTITIES)
        state.webhook_target = WebhookTarget(body["url"], body["verifier_token"], kind, entities)
    return jsonify(_target_json(state.webhook_target))


@control.get("/companies")
def companies() -> Response:
    store = _state().store
    listed = []
    for realm_id in store.realm_ids():
        company = store.company(realm_id)
        if company is not None:
            listed.append({"realm_id": realm_id, "name": company.name, "country": company.country})
    return jsonify(listed)


@control.put("/companies/<realm_id>")
def company_flags(realm_id: str) -> Response:
    """`country` re-creates the company's books for that country; `custom_txn_numbers` sets
    the preference that leaves DocNumber empty when a client sends none; `invoice_history`
    adds the invoices a company that traded before InvoiceSync holds (`add_invoice_history`);
    `app_revoked` makes the company refuse the app (401 even with a freshly refreshed token);
    `sales_tax_jurisdictions` ([{"name", "percent"}]) adds US sales tax agencies and codes."""
    state = _state()
    body = request.get_json(force=True) or {}
    company = state.store.company(realm_id)
    if company is None:
        return _bad(f"unknown realm {realm_id}")
    country = str(body.get("country") or company.country).upper()
    if country != company.country:
        fresh = new_company(realm_id, company.name, country, state.clock.now())
        with company.lock:
            state.store.replace(fresh)
        company = fresh
    if "app_revoked" in body:
        if body["app_revoked"]:
            state.revoked_realms.add(realm_id)
        else:
            state.revoked_realms.discard(realm_id)
    added = []
    for jurisdiction in body.get("sales_tax_jurisdictions") or []:
        if not company.is_us:
            return _bad("sales_tax_jurisdictions are for US companies")
        try:
            percent = Decimal(str(jurisdiction["percent"]))
            name = str(jurisdiction["name"])
        except (KeyError, TypeError, InvalidOperation):
            return _bad("each sales tax jurisdiction needs a name and a percent")
        with company.lock:
            code = add_us_sales_tax(company, name, percent, state.clock.now())
        added.append({"name": name, "tax_code_id": code["Id"]})
    if "custom_txn_numbers" in body:
        prefs = company.get("Preferences", "1") or {}
        prefs.setdefault("SalesFormsPrefs", {})["CustomTxnNumbers"] = bool(
            body["custom_txn_numbers"]
        )
    history = []
    if body.get("invoice_history"):
        with company.lock:
            history = add_invoice_history(company, state.clock.now())
    return jsonify(
        {
            "realm_id": realm_id,
            "country": company.country,
            "invoice_history": [{"Id": i["Id"], "DocNumber": i["DocNumber"]} for i in history],
            "tax_codes": added,
        }
    )


@control.put("/consent")
def consent() -> Response:
    """The company the consent screen connects from now on: a new one, as a user who signs in
    with another Intuit login (or picks another of their companies) would connect."""
    body = request.get_json(silent=True) or {}
    name = body.get("company_name")
    if not isinstance(name, str) or not name.strip():
        return _bad("company_name is required")
    state = _state()
    company = state.company_for(None, name.strip(), body.get("country") or "US")
    state.default_realm_id = company.realm_id
    return jsonify({"realm_id": company.realm_id, "name": company.name})
