"""Tenants, their settings, the processing switch and their status."""

from __future__ import annotations

from flask import Blueprint, jsonify

from admin import tenant_operations as operations
from admin.api.context import (
    load_body,
    operator_required,
    services,
    tenant_access_required,
)
from admin.api.schemas import ProcessingSchema, SettingsDocumentSchema, TenantCreateSchema
from invoicesync.stores.tenants import Tenant
from invoicesync.tenant_settings_schema import settings_to_json

tenant_routes = Blueprint("tenants", __name__, url_prefix="/api/v1/tenants")


def tenant_json(tenant: Tenant) -> dict:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "destination": tenant.destination.value,
        "created_at": tenant.created_at.isoformat(),
        "hook_url": operations.hook_url(services(), tenant),
        "settings_saved": tenant.settings_saved,
    }


@tenant_routes.post("")
@operator_required
def create_tenant():
    request = load_body(TenantCreateSchema())
    tenant, key = operations.create_tenant(services(), request["name"], request["destination"])
    return jsonify(tenant_json(tenant) | {"api_key": key.secret}), 201


@tenant_routes.get("/<tenant_id>")
@tenant_access_required
def get_tenant(tenant_id: str):
    return jsonify(tenant_json(operations.require_tenant(services(), tenant_id)))


@tenant_routes.get("/<tenant_id>/settings")
@tenant_access_required
def get_settings(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    settings = services().tenants.settings(tenant.id)
    return jsonify(settings_to_json(settings) | {"saved": tenant.settings_saved})


@tenant_routes.put("/<tenant_id>/settings")
@tenant_access_required
def put_settings(tenant_id: str):
    operations.require_tenant(services(), tenant_id)
    settings = load_body(SettingsDocumentSchema())
    saved = operations.save_settings(services(), tenant_id, settings)
    return jsonify(settings_to_json(saved) | {"saved": True})


@tenant_routes.put("/<tenant_id>/processing")
@tenant_access_required
def put_processing(tenant_id: str):
    request = load_body(ProcessingSchema())
    settings = operations.set_processing(services(), tenant_id, request["enabled"])
    return jsonify({"processing_enabled": settings.sync.processing_enabled})


@tenant_routes.get("/<tenant_id>/status")
@tenant_access_required
def get_status(tenant_id: str):
    services().take_tenant_share(tenant_id, "status")
    return jsonify(operations.tenant_status(services(), tenant_id))
