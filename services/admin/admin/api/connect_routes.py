"""OAuth: send the user to a provider's consent page, and take the code it sends back."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, request

from admin import tenant_operations as operations
from admin.admin_services import PROVIDERS
from admin.api.context import load_query, services, tenant_access_required
from admin.api.schemas import OAuthCallbackQuerySchema
from invoicesync.errors import InvalidInput

connect_routes = Blueprint("connect", __name__, url_prefix="/api/v1")


@connect_routes.get("/tenants/<tenant_id>/connect/<provider>")
@tenant_access_required
def connect(tenant_id: str, provider: str):
    if provider not in PROVIDERS:
        raise InvalidInput(f"provider is one of {', '.join(PROVIDERS)}", field="provider")
    return redirect(operations.connect_url(services(), tenant_id, provider), code=302)


@connect_routes.get("/oauth/<provider>/callback")
def callback(provider: str):
    """No API key here: the browser comes back from the provider; the state authenticates."""
    if provider not in PROVIDERS:
        raise InvalidInput(f"provider is one of {', '.join(PROVIDERS)}", field="provider")
    if "error" in request.args:
        raise InvalidInput(f"{provider} refused: {request.args['error'][:200]}", field="error")
    query = load_query(OAuthCallbackQuerySchema())
    connection = operations.complete_connection(
        services(),
        provider,
        code=query["code"],
        state=query["state"],
        realm_id=query["realmId"],
        scope=query["scope"],
    )
    return jsonify(
        tenant_id=connection.tenant_id,
        provider=provider,
        status=connection.status,
        external_id=connection.external_id,
        external_name=connection.external_name,
    )
