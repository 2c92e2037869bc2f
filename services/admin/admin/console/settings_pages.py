"""Settings: the form, dropdowns from the tenant's own ledger, and the processing switch."""

from __future__ import annotations

import logging

from flask import render_template, request
from marshmallow import ValidationError

from admin import tenant_operations as operations
from admin.api.context import services
from admin.console.blueprint import console_routes
from admin.console.console_session import tenant_page_required
from admin.console.plain_words import field_errors
from admin.console.settings_form import (
    PROCESSING,
    form_values,
    groups_for,
    labels_for,
    settings_document,
)
from admin.tenant_operations import ProcessingRefused
from invoicesync.errors import InvalidInput, Transient
from invoicesync.stores.tenants import Tenant
from invoicesync.tenant_settings_schema import TenantSettingsSchema, settings_to_json

log = logging.getLogger(__name__)


@console_routes.get("/tenants/<tenant_id>/settings")
@tenant_page_required
def settings_page(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    document = settings_to_json(services().tenants.settings(tenant.id))
    return _render(tenant, form_values(document), {}, saved=False)


@console_routes.post("/tenants/<tenant_id>/settings")
@tenant_page_required
def settings_save(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    current = settings_to_json(services().tenants.settings(tenant.id))
    document = settings_document(current, request.form, tenant.destination)
    try:
        settings = TenantSettingsSchema().load(document)
        operations.save_settings(services(), tenant.id, settings)
    except (ValidationError, InvalidInput, ProcessingRefused) as exc:
        errors = field_errors(exc, labels_for(tenant.destination))
        return _render(tenant, form_values(document), errors, saved=False), 400
    tenant = operations.require_tenant(services(), tenant.id)
    return _render(tenant, form_values(settings_to_json(settings)), {}, saved=True)


def _render(tenant: Tenant, values: dict[str, str], errors: dict[str, str], *, saved: bool):
    blockers = operations.processing_blockers(services(), tenant)
    return render_template(
        "console/settings.html",
        tenant=tenant,
        groups=groups_for(tenant.destination),
        processing=PROCESSING,
        values=values,
        errors=errors,
        saved=saved,
        choices=_reference_choices(tenant),
        blockers=blockers,
        page="settings",
    )


def _reference_choices(tenant: Tenant) -> dict[str, list[tuple[str, str]]] | None:
    """The ledger's own lists as (value, "200 — Sales") pairs, sorted by value, or None while
    it is not connected or not answering."""
    reference = services().reference_data(tenant.id, tenant.destination)
    if reference is None:
        return None
    try:
        labels = reference.labels()
        return {
            "accounts": sorted(labels["accounts"].items()),
            "tax_rates": sorted(labels["tax_rates"].items()),
            "items": sorted(labels["items"].items(), key=lambda item: (len(item[0]), item[0])),
        }
    except (Transient, InvalidInput) as exc:
        log.warning("reference data unavailable", extra={"tenant_id": tenant.id, "error": str(exc)})
        return None
