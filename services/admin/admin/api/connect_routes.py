"""OAuth: send the user to a provider's consent page, take the code it sends back, and bind the
connection once the key that started it confirms the tenant it is for."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, redirect, request
from werkzeug.wrappers import Response as WerkzeugResponse

from admin import tenant_operations as operations
from admin.admin_services import PROVIDERS, AdminServices
from admin.api.context import (
    Forbidden,
    load_body,
    load_query,
    services,
    tenant_access_required,
)
from admin.api.schemas import ChooseOrganisationSchema, OAuthCallbackQuerySchema
from admin.stores.api_keys import Role
from admin.stores.oauth_state import STATE_TTL_SECONDS
from admin.stores.pending_connections import PendingConnection
from invoicesync.errors import InvalidInput
from invoicesync.stores.tokens import ProviderConnection

connect_routes = Blueprint("connect", __name__, url_prefix="/api/v1")
CALLBACK_PATH = "/api/v1/oauth/"


def consent_cookie(provider: str) -> str:
    return f"invoicesync_oauth_{provider}"


def redirect_to_consent(start: operations.ConsentStart, provider: str) -> WerkzeugResponse:
    """The 302 to the provider, leaving in this browser the secret the callback must bring."""
    response = redirect(start.url, code=302)
    response.set_cookie(
        consent_cookie(provider),
        start.browser_secret,
        max_age=STATE_TTL_SECONDS,
        path=CALLBACK_PATH,
        secure=services().settings.public_base_url.startswith("https://"),
        httponly=True,
        samesite="Lax",  # sent on the provider's top-level redirect back, not on sub-requests
    )
    return response


def _provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise InvalidInput(f"provider is one of {', '.join(PROVIDERS)}", field="provider")
    return provider


@connect_routes.get("/tenants/<tenant_id>/connect/<provider>")
@tenant_access_required
def connect(tenant_id: str, provider: str):
    start = operations.connect_url(services(), tenant_id, _provider(provider), g.api_key.key_id)
    return redirect_to_consent(start, provider)


@connect_routes.get("/oauth/<provider>/callback")
def callback(provider: str):
    """No API key here: the browser comes back from the provider; the state and the cookie
    set with the redirect authenticate it. Nothing is bound until it is confirmed."""
    _provider(provider)
    if "error" in request.args:
        raise InvalidInput(f"{provider} refused: {request.args['error'][:200]}", field="error")
    query = load_query(OAuthCallbackQuerySchema())
    pending = operations.complete_connection(
        services(),
        provider,
        code=query["code"],
        state=query["state"],
        browser_secret=request.cookies.get(consent_cookie(provider), ""),
        realm_id=query["realmId"],
        scope=query["scope"],
    )
    response: Response = jsonify(confirmation(services(), pending))
    response.delete_cookie(consent_cookie(provider), path=CALLBACK_PATH)
    return response


@connect_routes.get("/tenants/<tenant_id>/connect/<provider>/organisation")
@tenant_access_required
def organisation_choices(tenant_id: str, provider: str):
    """What a parked consent connected, waiting for its confirmation (or choice)."""
    pending = operations.pending_organisations(services(), tenant_id, _provider(provider))
    return jsonify(confirmation(services(), pending))


@connect_routes.post("/tenants/<tenant_id>/connect/<provider>/organisation")
@tenant_access_required
def confirm(tenant_id: str, provider: str):
    """Bind the parked consent, by the key that started it: `organisation_id` picks one of
    several; `confirm` (operator keys only) binds a Xero organisation another tenant has."""
    body = load_body(ChooseOrganisationSchema())
    if body["confirm"] and g.api_key.role is not Role.OPERATOR:
        raise Forbidden("confirming an organisation another tenant has takes an operator key")
    try:
        connection = operations.confirm_connection(
            services(),
            tenant_id,
            _provider(provider),
            confirmed_by=g.api_key.key_id,
            organisation_id=body.get("organisation_id"),
            confirmed=body["confirm"],
        )
    except operations.NotStarter as exc:
        raise Forbidden(str(exc)) from exc
    return jsonify(_connected(connection))


def _connected(connection: ProviderConnection) -> dict:
    return {
        "tenant_id": connection.tenant_id,
        "provider": connection.provider,
        "status": connection.status,
        "external_id": connection.external_id,
        "external_name": connection.external_name,
    }


def confirmation(services: AdminServices, pending: PendingConnection) -> dict:
    """What the consent connected and the tenant it would be bound to, to be confirmed."""
    tenant = operations.require_tenant(services, pending.tenant_id)
    confirm_url = f"/api/v1/tenants/{pending.tenant_id}/connect/{pending.provider}/organisation"
    return {
        "tenant_id": tenant.id,
        "tenant_name": tenant.name,
        "provider": pending.provider,
        "status": "choose_organisation" if len(pending.organisations) > 1 else "confirm",
        "organisations": [o.to_json() for o in pending.organisations],
        "confirm": confirm_url,
        "choose": confirm_url,
    }
