"""Reconciliation: pick a period, watch the report being read, see the four groups, download
the CSV, re-sync what is missing or different."""

from __future__ import annotations

import csv
import io

from flask import Response, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError

from admin import reconciliation
from admin import tenant_operations as operations
from admin.api.context import services
from admin.api.schemas import ReconciliationRequestSchema
from admin.console.blueprint import console_routes
from admin.console.console_session import tenant_page_required
from admin.console.plain_words import field_errors
from admin.reconciliation import ReconciliationJob, ReconciliationJobs
from admin.reconciliation_resync import resync as resync_report
from invoicesync.domain.reconciliation import Group
from invoicesync.errors import InvalidInput

PERIOD_LABELS = {"from": "From", "to": "To"}
GROUP_WORDS = {
    Group.MATCHED: "Matched",
    Group.DIFFERENT: "Different",
    Group.MISSING_IN_LEDGER: "Missing in the ledger",
    Group.LEDGER_ONLY: "In the ledger, not in Keap",
}


def _job(tenant_id: str, job_id: str | None) -> ReconciliationJob | None:
    jobs = ReconciliationJobs(services().redis)
    return jobs.get(tenant_id, job_id) if job_id else jobs.latest(tenant_id)


def _page(tenant, job: ReconciliationJob | None, errors: dict, period: dict, status: int = 200):
    return render_template(
        "console/reconciliation.html",
        tenant=tenant,
        job=job,
        errors=errors,
        period=period,
        resynced=request.args.get("resynced"),
        voided=request.args.get("voided"),
        recorded=request.args.get("recorded"),
        page="reconciliation",
    ), status


@console_routes.get("/tenants/<tenant_id>/reconciliation")
@tenant_page_required
def reconciliation_page(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    job = _job(tenant.id, request.args.get("job"))
    period = {"from": job.first.isoformat(), "to": job.last.isoformat()} if job is not None else {}
    return _page(tenant, job, {}, period)


@console_routes.post("/tenants/<tenant_id>/reconciliation")
@tenant_page_required
def reconciliation_submit(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    period = {name: request.form.get(name, "").strip() for name in ("from", "to")}
    try:
        loaded = ReconciliationRequestSchema().load(period)
        job = reconciliation.start_reconciliation(
            services(), tenant.id, loaded["first"], loaded["last"]
        )
    except ValidationError as exc:
        return _page(tenant, None, field_errors(exc, PERIOD_LABELS), period, 400)
    except InvalidInput as exc:
        return _page(tenant, None, {exc.field or "form": str(exc)}, period, 400)
    reconciliation.resume_in_background(services(), job)
    return redirect(url_for("console.reconciliation_page", tenant_id=tenant.id, job=job.id))


@console_routes.get("/tenants/<tenant_id>/reconciliation/<job_id>/progress")
@tenant_page_required
def reconciliation_progress(tenant_id: str, job_id: str):
    """Polled by the page: progress while reading, the report's HTML once done."""
    tenant = operations.require_tenant(services(), tenant_id)
    job = _job(tenant.id, job_id)
    if job is None:
        return jsonify(status="none")
    if job.status == "running":
        reconciliation.resume_in_background(services(), job)
    answer = job.to_json()
    if job.status == "done":
        report = reconciliation.report_of(services(), job)
        answer["html"] = render_template(
            "console/reconciliation_report.html",
            tenant=tenant,
            job=job,
            report=report,
            groups=GROUP_WORDS,
        )
    return jsonify(answer)


@console_routes.get("/tenants/<tenant_id>/reconciliation/<job_id>/csv")
@tenant_page_required
def reconciliation_csv(tenant_id: str, job_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    job = _job(tenant.id, job_id)
    if job is None or job.status != "done":
        return redirect(url_for("console.reconciliation_page", tenant_id=tenant.id))
    out = io.StringIO()
    csv.writer(out).writerows(
        reconciliation.report_csv_rows(reconciliation.report_of(services(), job))
    )
    name = f"reconciliation-{job.first.isoformat()}-{job.last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@console_routes.post("/tenants/<tenant_id>/reconciliation/<job_id>/resync")
@tenant_page_required
def reconciliation_resync(tenant_id: str, job_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    job = _job(tenant.id, job_id)
    if job is None or job.status != "done":
        return redirect(url_for("console.reconciliation_page", tenant_id=tenant.id))
    done = resync_report(services(), job)
    return redirect(
        url_for(
            "console.reconciliation_page",
            tenant_id=tenant.id,
            job=job.id,
            resynced=len(done.orders),
            voided=len(done.voided),
            recorded=len(done.recorded_in_keap),
        )
    )
