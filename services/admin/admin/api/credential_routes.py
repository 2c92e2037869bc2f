"""A tenant's credentials: its API keys (listed, issued, rotated, revoked) and its hook URL's
token (rotated). A new secret is shown once, in the answer that makes it."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from admin import tenant_operations as operations
from admin.api.context import load_body, services, tenant_access_required
from admin.api.schemas import ApiKeyCreateSchema
from admin.stores.api_keys import ApiKey, IssuedKey

credential_routes = Blueprint("credentials", __name__, url_prefix="/api/v1/tenants")


def key_json(key: ApiKey) -> dict:
    return {
        "key_id": key.key_id,
        "role": key.role.value,
        "tenant_id": key.tenant_id,
        "label": key.label,
        "created_at": key.created_at.isoformat(),
    }


def issued_json(issued: IssuedKey) -> dict:
    return key_json(issued.api_key) | {"api_key": issued.secret}


@credential_routes.get("/<tenant_id>/api-keys")
@tenant_access_required
def list_keys(tenant_id: str):
    keys = operations.tenant_api_keys(services(), tenant_id)
    return jsonify(api_keys=[key_json(key) for key in keys])


@credential_routes.post("/<tenant_id>/api-keys")
@tenant_access_required
def issue_key(tenant_id: str):
    body = load_body(ApiKeyCreateSchema())
    return jsonify(issued_json(operations.issue_api_key(services(), tenant_id, body["label"]))), 201


@credential_routes.post("/<tenant_id>/api-keys/<key_id>/rotate")
@tenant_access_required
def rotate_key(tenant_id: str, key_id: str):
    return jsonify(issued_json(operations.rotate_api_key(services(), tenant_id, key_id))), 201


@credential_routes.delete("/<tenant_id>/api-keys/<key_id>")
@tenant_access_required
def revoke_key(tenant_id: str, key_id: str):
    operations.revoke_api_key(services(), tenant_id, key_id)
    return Response(status=204)


@credential_routes.post("/<tenant_id>/hook-token/rotate")
@tenant_access_required
def rotate_hook_token(tenant_id: str):
    tenant = operations.rotate_hook_token(services(), tenant_id)
    return jsonify(tenant_id=tenant.id, hook_url=operations.hook_url(services(), tenant))
