"""Sync ID (one invoice now, its result and a side-by-side) and Backfill (start, live progress)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError

from admin import tenant_operations as operations
from admin.api.context import services
from admin.api.schemas import BackfillRequestSchema, SyncRequestSchema
from admin.api.sync_routes import backfill_json
from admin.console.backfill_estimate import percent_done, time_left
from admin.console.blueprint import console_routes
from admin.console.console_session import tenant_page_required
from admin.console.plain_words import field_errors
from admin.console.side_by_side import destination_link, side_by_side
from admin.invoice_preview import indented_json, preview_invoice
from admin.reference_data import labelled
from invoicesync.domain.canonical import Destination
from invoicesync.errors import InvalidInput, Transient
from invoicesync.stores.backfill_jobs import JobStatus

log = logging.getLogger(__name__)

DESTINATION_NAMES = {Destination.XERO: "Xero", Destination.QBO: "QuickBooks Online"}
SYNC_LABELS = {"invoice_id": "Keap invoice id"}
BACKFILL_LABELS = {
    "start.kind": "Start from",
    "start.invoice_id": "Start invoice id",
    "start.on_date": "Start date",
}
OUTCOME_WORDS = {
    "created": "Created",
    "updated": "Updated",
    "skipped": "Skipped",
    "failed": "Failed",
}


@dataclass(frozen=True)
class CodeNames:
    """Ledger codes in the words a person knows them by ("200 — Sales"), the code alone when
    the ledger's lists cannot be read."""

    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def account(self, code: str) -> str:
        return self.labels.get("accounts", {}).get(code, code)

    def tax(self, code: str) -> str:
        return self.labels.get("tax_rates", {}).get(code, code)

    def item(self, code: str) -> str:
        name = self.labels.get("items", {}).get(code, "")
        return labelled(code, name) if name and code not in name else (name or code)


def code_names(tenant) -> CodeNames:
    reference = services().reference_data(tenant.id, tenant.destination)
    if reference is None:
        return CodeNames()
    try:
        return CodeNames(reference.labels())
    except (Transient, InvalidInput) as exc:
        log.warning("reference data unavailable", extra={"tenant_id": tenant.id, "error": str(exc)})
        return CodeNames()


@console_routes.get("/tenants/<tenant_id>/sync")
@tenant_page_required
def sync_page(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    return render_template(
        "console/sync.html",
        tenant=tenant,
        invoice_id=request.args.get("invoice_id", ""),
        since=request.args.get("since", ""),
        errors={},
        page="sync",
    )


def _sync_form(tenant):
    """The Sync ID form, loaded; or, when the id is not one, the page again naming the field."""
    invoice_id = request.form.get("invoice_id", "").strip()
    try:
        return SyncRequestSchema().load({"invoice_id": invoice_id}), None
    except ValidationError as exc:
        errors = field_errors(exc, SYNC_LABELS)
        page = render_template(
            "console/sync.html",
            tenant=tenant,
            invoice_id=invoice_id,
            since="",
            errors=errors,
            page="sync",
        )
        return None, (page, 400)


@console_routes.post("/tenants/<tenant_id>/sync")
@tenant_page_required
def sync_submit(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    services().take_tenant_share(tenant.id, "sync_id")
    loaded, refused = _sync_form(tenant)
    if refused is not None:
        return refused
    requested_at = datetime.now(UTC) - timedelta(seconds=1)
    operations.request_invoice_sync(services(), tenant.id, loaded["invoice_id"])
    return redirect(
        url_for(
            "console.sync_page",
            tenant_id=tenant.id,
            invoice_id=loaded["invoice_id"],
            since=requested_at.isoformat(),
        )
    )


@console_routes.post("/tenants/<tenant_id>/sync/preview")
@tenant_page_required
def sync_preview(tenant_id: str):
    """Dry run on the Sync ID page: the document a sync would post, nothing written."""
    tenant = operations.require_tenant(services(), tenant_id)
    loaded, refused = _sync_form(tenant)
    if refused is not None:
        return refused
    preview = preview_invoice(services(), tenant.id, loaded["invoice_id"])
    document = preview.document
    return render_template(
        "console/sync.html",
        tenant=tenant,
        invoice_id="",
        since="",
        errors={},
        page="sync",
        preview=preview,
        destination_name=DESTINATION_NAMES[tenant.destination],
        names=code_names(tenant),
        document_json=indented_json(document) if document else "",
    )


@console_routes.get("/tenants/<tenant_id>/sync/<invoice_id>/result")
@tenant_page_required
def sync_result(tenant_id: str, invoice_id: str):
    """Polled by the page: {done, html} once the activity log holds a newer invoice result."""
    tenant = operations.require_tenant(services(), tenant_id)
    SyncRequestSchema().load({"invoice_id": invoice_id})
    try:
        since = datetime.fromisoformat(request.args.get("since", ""))
    except ValueError:
        since = None
    page = services().activity.page(tenant.id, query=invoice_id, since=since, limit=20)
    entries = [entry for entry in page.entries if entry.result.object_type == "invoice"]
    if not entries:
        return jsonify(done=False)
    result = entries[0].result
    comparison = side_by_side(services(), tenant.id, invoice_id, result.destination_id)
    html = render_template(
        "console/sync_result.html",
        result=result,
        outcome=OUTCOME_WORDS.get(result.action.value, result.action.value),
        link=destination_link(result.destination, result.destination_id),
        comparison=comparison,
    )
    return jsonify(done=True, outcome=result.action.value, html=html)


@console_routes.get("/tenants/<tenant_id>/backfill")
@tenant_page_required
def backfill_page(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    start = services().tenants.settings(tenant.id).sync.start_point
    return render_template(
        "console/backfill.html", tenant=tenant, start=start, errors={}, page="backfill"
    )


@console_routes.post("/tenants/<tenant_id>/backfill")
@tenant_page_required
def backfill_submit(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    kind = request.form.get("kind", "first_invoice")
    start: dict = {"kind": kind}
    invoice_id = request.form.get("invoice_id", "").strip()
    on_date = request.form.get("on_date", "").strip()
    if kind == "invoice_id":
        start["invoice_id"] = int(invoice_id) if invoice_id.isdigit() else invoice_id or None
    if kind == "date":
        start["on_date"] = on_date or None
    try:
        loaded = BackfillRequestSchema().load({"start": start})
    except ValidationError as exc:
        errors = field_errors(exc, BACKFILL_LABELS)
        current = services().tenants.settings(tenant.id).sync.start_point
        return render_template(
            "console/backfill.html", tenant=tenant, start=current, errors=errors, page="backfill"
        ), 400
    operations.start_backfill(services(), tenant.id, loaded["start"])
    return redirect(url_for("console.backfill_page", tenant_id=tenant.id))


@console_routes.get("/tenants/<tenant_id>/backfill/progress")
@tenant_page_required
def backfill_progress(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    job = operations.backfill_progress(services(), tenant.id)
    if job is None:
        return jsonify(status="none")
    finished = job.status is JobStatus.DONE
    remaining = max((job.estimated_total or 0) - job.published, 0)
    return jsonify(
        backfill_json(job)
        | {
            "percent": percent_done(job.published, job.estimated_total, finished),
            "time_left": "" if finished else time_left(remaining, tenant.destination),
        }
    )
