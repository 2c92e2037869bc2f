"""Reconciliation: start a report job for a period, poll it, download it as CSV, re-sync what
it found missing or different."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify

from admin import reconciliation, reconciliation_resync
from admin.api.context import load_body, services, tenant_access_required
from admin.api.schemas import ReconciliationRequestSchema
from admin.reconciliation import ReconciliationJob, ReconciliationJobs
from admin.tenant_operations import require_tenant
from invoicesync.errors import InvalidInput

reconciliation_routes = Blueprint(
    "reconciliation", __name__, url_prefix="/api/v1/tenants/<tenant_id>/reconciliations"
)


class ReportNotFound(InvalidInput):
    pass


def job_or_404(tenant_id: str, job_id: str) -> ReconciliationJob:
    require_tenant(services(), tenant_id)
    job = ReconciliationJobs(services().redis).get(tenant_id, job_id)
    if job is None:
        raise ReportNotFound(f"no reconciliation {job_id}", field="job_id")
    return job


def job_json(job: ReconciliationJob) -> dict:
    """The job, with its report once done; a running job nobody advances is resumed here."""
    if job.status == "running":
        reconciliation.resume_in_background(services(), job)
        return job.to_json()
    if job.status == "done":
        return reconciliation.report_json(job, reconciliation.report_of(services(), job))
    return job.to_json()


@reconciliation_routes.post("")
@tenant_access_required
def start_reconciliation(tenant_id: str):
    request = load_body(ReconciliationRequestSchema())
    job = reconciliation.start_reconciliation(
        services(), tenant_id, request["first"], request["last"]
    )
    reconciliation.resume_in_background(services(), job)
    return jsonify(job.to_json()), 202


@reconciliation_routes.get("/<job_id>")
@tenant_access_required
def reconciliation_report(tenant_id: str, job_id: str):
    return jsonify(job_json(job_or_404(tenant_id, job_id)))


@reconciliation_routes.get("/<job_id>/csv")
@tenant_access_required
def reconciliation_csv(tenant_id: str, job_id: str):
    job = job_or_404(tenant_id, job_id)
    if job.status != "done":
        raise InvalidInput(f"the report is {job.status}, not done yet", field="job_id")
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


@reconciliation_routes.post("/<job_id>/resync")
@tenant_access_required
def resync(tenant_id: str, job_id: str):
    job = job_or_404(tenant_id, job_id)
    if job.status != "done":
        raise InvalidInput(f"the report is {job.status}, not done yet", field="job_id")
    return jsonify(reconciliation_resync.resync(services(), job).to_json()), 202
