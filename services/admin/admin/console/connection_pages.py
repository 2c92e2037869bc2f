"""Connections: Keap and the ledger, Connect/Reconnect through the API's OAuth flow, warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from admin import tenant_operations as operations
from admin.api.connect_routes import redirect_to_consent
from admin.api.context import services
from admin.console.blueprint import console_routes
from admin.console.console_session import SESSION_KEY, signed_in_key, tenant_page_required
from admin.console.plain_words import FORM_ERROR, field_errors
from invoicesync.domain.connection_health import ConnectionHealth, RiskKind
from invoicesync.errors import InvalidInput
from invoicesync.stores.ledger_watch import LedgerWatch, WebhookState

PROVIDER_NAMES = {"keap": "Keap", "xero": "Xero", "qbo": "QuickBooks Online"}
# Xero's intent-to-receive check sends wrongly signed bodies on purpose, beside the right ones.
REFUSAL_GRACE = timedelta(minutes=1)
WHEN = "%d %B %Y %H:%M"
CALLBACK_ENDPOINT = "connect.callback"
TAKEN = (
    "This Xero organisation is already connected to another business. Ask an operator to "
    "confirm that both should sync to it."
)


@console_routes.get("/tenants/<tenant_id>/connections")
@tenant_page_required
def connections(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    cards = []
    for provider in ("keap", tenant.destination.value):
        connection = services().tokens.load(provider, tenant.id)
        health = operations.connection_health_of(services(), provider, tenant.id, connection)
        cards.append(connection_card(provider, operations.connection_summary(connection), health))
    ledger = tenant.destination.value
    configured = bool(
        services().settings.xero_webhook_key
        if ledger == "xero"
        else services().settings.qbo_webhook_verifier_token
    )
    state = LedgerWatch(services().redis).webhook_state(ledger)
    cards[-1]["webhook"] = ledger_webhook_status(ledger, configured, state)
    return render_template(
        "console/connections.html",
        tenant=tenant,
        cards=cards,
        connected=request.args.get("connected"),
        error=request.args.get("error"),
        page="connections",
    )


def connection_card(provider: str, summary: dict[str, Any], health: ConnectionHealth) -> dict:
    """What the page says about one connection: its state, organisation, its most urgent risk
    (the warning) and any further risks."""
    card: dict[str, Any] = {
        "provider": provider,
        "name": PROVIDER_NAMES[provider],
        "status": summary["status"],
        "health": health.state.value,
        "organisation": summary.get("external_name") or summary.get("external_id") or "",
        "warning": "",
        "more_risks": [],
        "lapses_on": "",
    }
    if summary["status"] == "not_connected":
        card["button"] = "Connect"
        return card
    card["button"] = "Reconnect"
    risk = health.next_risk
    if summary["status"] != "connected" and risk is not None and risk.kind is RiskKind.LOST:
        reason = summary.get("disconnected_reason") or "the provider no longer accepts our access"
        card["warning"] = f"The connection was lost ({reason}). Reconnect to resume syncing."
        return card
    if risk is not None:
        card["warning"] = risk.message
        card["more_risks"] = [later.message for later in health.risks[1:]]
    if health.refresh_lapses_at is not None:
        card["lapses_on"] = f"{health.refresh_lapses_at:%d %B %Y}"
    return card


def ledger_webhook_status(
    provider: str, configured: bool, state: WebhookState, now: datetime | None = None
) -> dict:
    """Whether the ledger's webhooks reach us with a valid signature. Xero proves it with its
    intent-to-receive check when the webhook is saved; Intuit has no such check, so QBO's is
    verified by the first signed notification."""
    now = now or datetime.now(UTC)
    name = PROVIDER_NAMES[provider]
    if not configured:
        secret = "webhook key" if provider == "xero" else "webhook verifier token"
        return {
            "verified": False,
            "text": f"{name} webhooks are not set up: InvoiceSync has no {secret}.",
            "warning": "",
        }
    warning = ""
    refused, verified = state.refused_at, state.verified_at
    if refused and (verified is None or refused - verified > REFUSAL_GRACE):
        warning = (
            f"A {name} webhook was refused on {refused:%d %B %Y at %H:%M} UTC: its signature "
            f"does not match our {'webhook key' if provider == 'xero' else 'verifier token'}."
        )
    if provider == "xero" and state.intent_checked_at:
        when = state.intent_checked_at
        text = f"Xero webhooks verified (intent to receive answered {when:{WHEN}} UTC)"
    elif verified:
        text = f"{name} webhooks verified (a signed notification arrived {verified:{WHEN}} UTC)"
    else:
        text = f"{name} webhooks not verified yet: no signed {name} webhook has arrived."
        return {"verified": False, "text": text, "warning": warning}
    if verified and verified != state.intent_checked_at:
        text += f"; last notification {verified:{WHEN}} UTC"
    return {"verified": True, "text": text + ".", "warning": warning}


@console_routes.post("/tenants/<tenant_id>/connect/<provider>")
@tenant_page_required
def connect(tenant_id: str, provider: str):
    key = signed_in_key()
    assert key is not None  # tenant_page_required let it through
    try:
        start = operations.connect_url(services(), tenant_id, provider, key.key_id)
    except InvalidInput as exc:
        message = field_errors(exc).popitem()[1]
        return redirect(url_for("console.connections", tenant_id=tenant_id, error=message))
    return redirect_to_consent(start, provider)


EXPIRED = "That consent has expired. Connect {provider} again."


@console_routes.get("/tenants/<tenant_id>/connections/<provider>/organisation")
@tenant_page_required
def choose_organisation(tenant_id: str, provider: str):
    """What the consent connected, named beside this business, to confirm (or choose from)."""
    tenant = operations.require_tenant(services(), tenant_id)
    name = PROVIDER_NAMES.get(provider)
    if name is None:
        return redirect(url_for("console.connections", tenant_id=tenant.id))
    try:
        pending = operations.pending_organisations(services(), tenant.id, provider)
    except operations.NoPendingConnection:
        message = EXPIRED.format(provider=name)
        return redirect(url_for("console.connections", tenant_id=tenant.id, error=message))
    return render_template(
        "console/choose_organisation.html",
        tenant=tenant,
        provider=provider,
        provider_name=name,
        organisations=pending.organisations,
        error=request.args.get("error"),
        page="connections",
    )


@console_routes.post("/tenants/<tenant_id>/connections/<provider>/organisation")
@tenant_page_required
def choose_organisation_submit(tenant_id: str, provider: str):
    key = signed_in_key()
    assert key is not None
    name = PROVIDER_NAMES.get(provider, provider)
    try:
        operations.confirm_connection(
            services(),
            tenant_id,
            provider,
            confirmed_by=key.key_id,
            organisation_id=request.form.get("organisation_id") or None,
        )
    except operations.NoPendingConnection:
        message = EXPIRED.format(provider=name)
        return redirect(url_for("console.connections", tenant_id=tenant_id, error=message))
    except operations.NotStarter:
        message = f"Someone else started this {name} connection. Connect {name} again here."
        return redirect(url_for("console.connections", tenant_id=tenant_id, error=message))
    except operations.OrganisationTaken:
        return redirect(url_for("console.connections", tenant_id=tenant_id, error=TAKEN))
    except operations.CompanyTaken as exc:
        return redirect(url_for("console.connections", tenant_id=tenant_id, error=str(exc)))
    except InvalidInput:
        return redirect(
            url_for(
                "console.choose_organisation",
                tenant_id=tenant_id,
                provider=provider,
                error="Choose one of the organisations listed.",
            )
        )
    return redirect(url_for("console.connections", tenant_id=tenant_id, connected=name))


@console_routes.after_app_request
def _back_to_the_console(response: WerkzeugResponse) -> WerkzeugResponse:
    """The provider sends the browser to the API's callback; a signed-in console user sees
    the confirmation page (naming the business) instead of the callback's JSON."""
    if request.endpoint != CALLBACK_ENDPOINT or SESSION_KEY not in session:
        return response
    body = response.get_json(silent=True) or {}
    tenant_id = body.get("tenant_id")
    if response.status_code == 200 and tenant_id:
        return redirect(
            url_for(
                "console.choose_organisation",
                tenant_id=tenant_id,
                provider=body.get("provider", ""),
            )
        )
    error = body.get("error", {})
    if response.status_code == 409 and error.get("field") == "organisation_id":
        return redirect(url_for("console.connections", tenant_id=error["tenant_id"], error=TAKEN))
    error = body.get("error", {})
    message = field_errors(InvalidInput(error.get("message", "the provider refused")))[FORM_ERROR]
    return redirect(url_for("console.home", error=message))
