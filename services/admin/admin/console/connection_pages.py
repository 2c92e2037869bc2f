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
from invoicesync.errors import InvalidInput

PROVIDER_NAMES = {"keap": "Keap", "xero": "Xero", "qbo": "QuickBooks Online"}
# Warn this long before a connection can no longer be refreshed.
EXPIRY_WARNING = timedelta(days=14)
CALLBACK_ENDPOINT = "connect.callback"
TAKEN = (
    "This Xero organisation is already connected to another business. Ask an operator to "
    "confirm that both should sync to it."
)


@console_routes.get("/tenants/<tenant_id>/connections")
@tenant_page_required
def connections(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    cards = [
        connection_card(
            provider, operations.connection_summary(services().tokens.load(provider, tenant.id))
        )
        for provider in ("keap", tenant.destination.value)
    ]
    return render_template(
        "console/connections.html",
        tenant=tenant,
        cards=cards,
        connected=request.args.get("connected"),
        error=request.args.get("error"),
        page="connections",
    )


def connection_card(provider: str, summary: dict[str, Any], now: datetime | None = None) -> dict:
    """What the page says about one connection: its state, organisation and any warning."""
    now = now or datetime.now(UTC)
    card = {"provider": provider, "name": PROVIDER_NAMES[provider], "status": summary["status"]}
    card["organisation"] = summary.get("external_name") or summary.get("external_id") or ""
    card["warning"] = ""
    if summary["status"] == "not_connected":
        card["button"] = "Connect"
        return card
    card["button"] = "Reconnect"
    if summary["status"] != "connected":
        reason = summary.get("disconnected_reason") or "the provider no longer accepts our access"
        card["warning"] = f"The connection was lost ({reason}). Reconnect to resume syncing."
        return card
    expires = summary.get("refresh_expires_at")
    if expires:
        expires_at = datetime.fromisoformat(expires)
        if expires_at - now <= EXPIRY_WARNING:
            card["warning"] = (
                f"This connection expires on {expires_at:%d %B %Y}. "
                "Reconnect before then to keep syncing."
            )
    return card


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
