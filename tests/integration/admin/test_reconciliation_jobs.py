"""A reconciliation job against the Keap and Xero stand-ins: paused by a Xero outage, it
resumes where it stopped without reading Keap again; the CLI prints the groups and the API
calls it used."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import requests

from admin.admin_services import AdminServices
from admin.cli import run
from admin.reconciliation import ReconciliationJobs, report_of, run_reconciliation
from invoicesync.domain.reconciliation import Group
from invoicesync.domain.tenant_settings import XeroSettings
from invoicesync.stores.tenants import TenantStore
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from tests.integration.stores.local_servers import pointed_at_xero, serving
from tests.integration.transform.keap_stand_in import keap_stand_in
from tests.integration.xero_writer.xero_tenants import connect_xero_tenant

ORDER_TIME = "2026-06-03T10:00:00Z"
PERIOD = (date(2026, 6, 1), date(2026, 6, 30))
LINE = {"name": "Widget", "quantity": 1, "item_type": "OTHER", "price_per_unit": "9.00"}


@pytest.fixture
def recon(admin_settings, redis_client):
    with serving(create_xero_app()) as xero, keap_stand_in(admin_settings, redis_client) as keap:
        settings = pointed_at_xero(keap.settings, xero)
        services = AdminServices.from_settings(settings, publish_timeout_seconds=30)
        tenant_id = connect_xero_tenant(
            xero,
            TenantStore(services.redis),
            services.tokens,
            f"R{uuid.uuid4().hex[:6]}",
            XeroSettings(),
        )
        keap.connect(tenant_id)
        for _ in range(2):
            keap.order([LINE], order_time=ORDER_TIME)
        yield services, tenant_id, xero
        services.close()


def test_a_job_paused_by_a_xero_outage_resumes_without_reading_keap_again(recon):
    services, tenant_id, xero = recon
    jobs = ReconciliationJobs(services.redis)
    job = jobs.start(tenant_id, *PERIOD)
    requests.put(f"{xero}/_sandbox/faults", json={"error_rate": 1.0}, timeout=5)
    paused = run_reconciliation(services, job)
    assert (paused.status, paused.phase) == ("running", "ledger")
    assert paused.error.startswith("paused:")
    keap_calls = paused.keap_calls

    requests.put(f"{xero}/_sandbox/faults", json={"error_rate": 0.0}, timeout=5)
    resumed = run_reconciliation(services, jobs.get(tenant_id, job.id))

    assert resumed.status == "done" and resumed.error == ""
    assert resumed.keap_calls == keap_calls  # Keap's pages were kept, not read again
    assert resumed.orders_read == paused.orders_read
    report = report_of(services, resumed)
    missing = report.in_group(Group.MISSING_IN_LEDGER)
    assert len(missing) == 2 and len(report.rows) == 2  # nothing was written to Xero


def test_the_cli_prints_the_groups_and_the_api_calls(recon, capsys):
    services, tenant_id, _ = recon
    code = run(
        ["reconcile", tenant_id, "--from", "2026-06-01", "--to", "2026-06-30"], services.settings
    )
    output = capsys.readouterr().out
    assert code == 0
    assert "missing_in_ledger  USD     2  Keap 18.00  ledger 0" in output
    assert "api calls:" in output and "ledger 1)" in output


def test_a_period_ending_before_it_starts_is_refused_naming_the_field(admin):
    tenant = admin.create_tenant()
    response = admin.client.post(
        f"/api/v1/tenants/{tenant['id']}/reconciliations",
        json={"from": "2026-06-30", "to": "2026-06-01"},
        headers=admin.headers(),
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "to"
    bad = admin.client.post(
        f"/api/v1/tenants/{tenant['id']}/reconciliations",
        json={"from": "June"},
        headers=admin.headers(),
    )
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"from", "to"}
