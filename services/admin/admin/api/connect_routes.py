"""OAuth: send the user to a provider's consent page, and take the code it sends back."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, redirect, request

from admin import tenant_operations as operations
from admin.admin_services import PROVIDERS
from admin.api.context import (
    Forbidden,
    load_body,
    load_query,
    services,
    tenant_access_required,
)
from admin.api.schemas import ChooseOrganisationSchema, OAuthCallbackQuerySchema
from admin.stores.api_keys import Role
from admin.stores.pending_connections import PendingConnection
from invoicesync.errors import InvalidInput
from invoicesync.stores.tokens import ProviderConnection

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
    outcome = operations.complete_connection(
        services(),
        provider,
        code=query["code"],
        state=query["state"],
        realm_id=query["realmId"],
        scope=query["scope"],
    )
    if isinstance(outcome, PendingConnection):
        return jsonify(_choices(outcome))
    return jsonify(_connected(outcome))


@connect_routes.get("/tenants/<tenant_id>/connect/xero/organisation")
@tenant_access_required
def organisation_choices(tenant_id: str):
    """The organisations a parked Xero consent connected, to choose one from."""
    return jsonify(_choices(operations.pending_organisations(services(), tenant_id)))


@connect_routes.post("/tenants/<tenant_id>/connect/xero/organisation")
@tenant_access_required
def choose_organisation(tenant_id: str):
    """Bind the chosen organisation. `confirm` (operator keys only) binds an organisation
    that another tenant already has."""
    body = load_body(ChooseOrganisationSchema())
    if body["confirm"] and g.api_key.role is not Role.OPERATOR:
        raise Forbidden("confirming an organisation another tenant has takes an operator key")
    connection = operations.choose_organisation(
        services(), tenant_id, body["organisation_id"], confirmed=body["confirm"]
    )
    return jsonify(_connected(connection))


def _connected(connection: ProviderConnection) -> dict:
    return {
        "tenant_id": connection.tenant_id,
        "provider": connection.provider,
        "status": connection.status,
        "external_id": connection.external_id,
        "external_name": connection.external_name,
    }


def _choices(pending: PendingConnection) -> dict:
    return {
        "tenant_id": pending.tenant_id,
        "provider": pending.provider,
        "status": "choose_organisation",
        "organisations": [o.to_json() for o in pending.organisations],
        "choose": f"/api/v1/tenants/{pending.tenant_id}/connect/xero/organisation",
    }
