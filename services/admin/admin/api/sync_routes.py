"""Sync ID, retry failed and backfill: publish one invoice now, every invoice and payment that
failed last, or a tenant's history from a start point."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from admin import tenant_operations as operations
from admin.api.context import load_body, services, tenant_access_required
from admin.api.schemas import BackfillRequestSchema, PreviewRequestSchema, SyncRequestSchema
from admin.invoice_preview import preview_invoice, preview_json, preview_next
from invoicesync.clients.json_body import dump_json
from invoicesync.errors import InvalidInput
from invoicesync.stores.backfill_jobs import BackfillJob, start_point_json

sync_routes = Blueprint("sync", __name__, url_prefix="/api/v1/tenants")


def backfill_json(job: BackfillJob) -> dict:
    return {
        "id": job.id,
        "tenant_id": job.tenant_id,
        "status": job.status.value,
        "start": start_point_json(job.start),
        "pages_done": job.pages_done,
        "published": job.published,
        "estimated_total": job.estimated_total,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "error": job.error,
    }


@sync_routes.post("/<tenant_id>/sync")
@tenant_access_required
def sync_invoice(tenant_id: str):
    services().take_tenant_share(tenant_id, "sync_id")
    request = load_body(SyncRequestSchema())
    event_id = operations.request_invoice_sync(services(), tenant_id, request["invoice_id"])
    return jsonify(notification_id=event_id, invoice_id=request["invoice_id"]), 202


@sync_routes.post("/<tenant_id>/preview")
@tenant_access_required
def preview(tenant_id: str):
    """Dry run: what a sync would post, nothing written. Amounts are exact JSON numbers, as
    the writer sends them."""
    request = load_body(PreviewRequestSchema())
    tenant = operations.require_tenant(services(), tenant_id)
    settings = request["settings"]
    if settings is not None and settings.destination is not tenant.destination:
        raise InvalidInput("the tenant's destination cannot change", field="settings.destination")
    if request["invoice_id"] is not None:
        previews = [preview_invoice(services(), tenant.id, request["invoice_id"], settings)]
    else:
        previews = preview_next(services(), tenant.id, request["next"], settings)
    body = {"previews": [preview_json(p) for p in previews], "written": False}
    return Response(dump_json(body), mimetype="application/json")


@sync_routes.post("/<tenant_id>/retry-failed")
@tenant_access_required
def retry_failed(tenant_id: str):
    requested = operations.retry_failed(services(), tenant_id)
    return jsonify(requested=requested), 202


@sync_routes.post("/<tenant_id>/backfill")
@tenant_access_required
def start_backfill(tenant_id: str):
    request = load_body(BackfillRequestSchema())
    job, created = operations.start_backfill(services(), tenant_id, request["start"])
    return jsonify(backfill_json(job)), 202 if created else 200


@sync_routes.get("/<tenant_id>/backfill")
@tenant_access_required
def backfill_progress(tenant_id: str):
    job = operations.backfill_progress(services(), tenant_id)
    if job is None:
        return jsonify(status="none"), 200
    return jsonify(backfill_json(job))
