"""`invoicesync smoke` against the stand-ins: what it prints per assumption, and its exit code."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from admin.cli import run
from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import TokenStore
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from tests.integration.qbo_writer.qbo_sandbox import qbo_sandbox
from tests.integration.stores.local_servers import serving
from tests.integration.transform.keap_stand_in import create_tenant, keap_stand_in
from tests.integration.xero_writer.xero_tenants import DEMO_CLIENT, connect_xero_tenant


def _lines(output: str) -> dict[str, str]:
    """Check name -> its outcome, from lines `OUTCOME name: seen`."""
    parsed = {}
    for line in output.splitlines():
        outcome, _, rest = line.partition(" ")
        assert outcome in ("PASS", "FAIL", "SKIP"), line
        parsed[rest.partition(": ")[0]] = outcome
    return parsed


@pytest.fixture
def keap(admin_settings, redis_client):
    with keap_stand_in(admin_settings, redis_client) as stand_in:
        tenant_id = create_tenant(redis_client)
        stand_in.connect(tenant_id)
        yield stand_in, tenant_id


def _paid_order(stand_in) -> str:
    order = stand_in.order(
        [{"name": "Fee", "quantity": 2, "item_type": "FEE", "price_per_unit": 12}]
    )
    stand_in.pay(order["id"], 10.0)
    return order["id"]


def test_keap_smoke_passes_on_a_consistent_app_and_exits_zero(keap, capsys):
    stand_in, tenant_id = keap
    _paid_order(stand_in)
    _paid_order(stand_in)

    code = run(["smoke", "--provider", "keap", "--tenant", tenant_id], stand_in.settings)

    results = _lines(capsys.readouterr().out)
    assert code == 0
    assert results["keap invoice.payment hook id kind"] == "PASS"
    assert results["keap order_by id asc"] == "PASS"
    assert results["keap order_by modification_time asc with modified_since_time"] == "PASS"
    assert results["keap money units (order amounts vs formatted_amount)"] == "PASS"
    assert results["keap money units (payment rows vs total_paid)"] == "PASS"
    assert results["keap Invoice # is the invoice id"] in ("PASS", "SKIP")


def _smoke_with_money_units(keap, capsys, units: dict) -> tuple[int, str, str]:
    """Run the Keap smoke with one paid order presented in other units; (exit, output, order)."""
    stand_in, tenant_id = keap
    order_id = _paid_order(stand_in)
    stand_in.control("PUT", f"/_sandbox/keap/orders/{order_id}/money_units", units)
    code = run(["smoke", "--provider", "keap", "--tenant", tenant_id], stand_in.settings)
    return code, capsys.readouterr().out, order_id


def test_keap_smoke_fails_when_an_order_shows_major_units_beside_its_formatted_amount(keap, capsys):
    code, output, order_id = _smoke_with_money_units(keap, capsys, {"currency_values": "major"})

    assert code == 1
    assert _lines(output)["keap money units (order amounts vs formatted_amount)"] == "FAIL"
    assert f"order {order_id}" in output


def test_keap_smoke_fails_when_payment_rows_come_in_minor_units(keap, capsys):
    code, output, _ = _smoke_with_money_units(keap, capsys, {"order_payments": "minor"})

    assert code == 1
    assert _lines(output)["keap money units (payment rows vs total_paid)"] == "FAIL"
    assert "total_paid is 10" in output


def test_keap_smoke_skips_the_hook_id_check_when_the_app_has_no_payments(keap, capsys):
    stand_in, tenant_id = keap

    code = run(["smoke", "--provider", "keap", "--tenant", tenant_id], stand_in.settings)

    assert code == 0
    assert _lines(capsys.readouterr().out)["keap invoice.payment hook id kind"] == "SKIP"


@pytest.fixture
def xero(admin_settings, redis_client):
    with serving(create_xero_app()) as url:
        settings = replace(
            admin_settings,
            xero_api_base=url,
            xero_token_url=f"{url}/connect/token",
            xero_client_id=DEMO_CLIENT[0],
            xero_client_secret=DEMO_CLIENT[1],
            token_encryption_key=generate_key(),
        )
        tokens = TokenStore(redis_client, TokenCipher(settings.token_encryption_key))
        tenant_id = connect_xero_tenant(
            url,
            TenantStore(redis_client),
            tokens,
            "Smoke Demo Co",
            scopes=tuple(settings.xero_scopes.split()),
        )
        yield settings, tenant_id, url, tokens


def test_xero_smoke_reads_the_organisation_and_its_filters_are_accepted(xero, capsys):
    settings, tenant_id, *_ = xero

    code = run(["smoke", "--provider", "xero", "--tenant", tenant_id], settings)

    results = _lines(capsys.readouterr().out)
    assert code == 0, results
    assert set(results.values()) == {"PASS"}
    assert "xero connection and granted scopes" in results
    assert not any(name.startswith("xero write") for name in results)


def test_xero_smoke_write_creates_a_draft_and_deletes_it(xero, capsys):
    settings, tenant_id, *_ = xero
    argv = ["smoke", "--provider", "xero", "--tenant", tenant_id, "--write"]

    code = run([*argv, "--yes-this-is-a-sandbox"], settings)

    output = capsys.readouterr().out
    results = _lines(output)
    assert code == 0, output
    assert results["xero write (create a DRAFT invoice)"] == "PASS"
    assert results["xero write (delete the DRAFT invoice)"] == "PASS"
    assert "now reads as DELETED" in output


def test_xero_smoke_fails_when_the_consent_granted_fewer_scopes_than_requested(
    xero, redis_client, capsys
):
    settings, _, url, tokens = xero
    broad_only = ("offline_access", "accounting.transactions", "accounting.contacts")
    tenant_id = connect_xero_tenant(
        url, TenantStore(redis_client), tokens, "Old Scopes Co", scopes=broad_only
    )

    code = run(["smoke", "--provider", "xero", "--tenant", tenant_id], settings)

    output = capsys.readouterr().out
    assert code == 1, output
    assert _lines(output)["xero connection and granted scopes"] == "FAIL"
    assert "missing scopes accounting.invoices" in output


def test_write_is_refused_without_the_sandbox_confirmation(xero, capsys):
    settings, tenant_id, *_ = xero

    code = run(["smoke", "--provider", "xero", "--tenant", tenant_id, "--write"], settings)

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "--yes-this-is-a-sandbox" in captured.err


def test_smoke_refuses_a_tenant_without_the_providers_connection(xero, capsys):
    settings, tenant_id, *_ = xero

    code = run(["smoke", "--provider", "qbo", "--tenant", tenant_id], settings)

    assert code == 2
    assert "no working qbo connection" in capsys.readouterr().err


@pytest.fixture
def qbo(admin_settings, redis_client):
    with qbo_sandbox(admin_settings) as sandbox:
        requests.put(f"{sandbox.base_url}/_sandbox/limits", json={"enabled": False}, timeout=5)
        tenant_id = create_tenant(redis_client)
        sandbox.connect(tenant_id)
        yield sandbox, tenant_id


def test_qbo_smoke_runs_every_query_the_client_sends(qbo, capsys):
    sandbox, tenant_id = qbo

    code = run(["smoke", "--provider", "qbo", "--tenant", tenant_id], sandbox.settings)

    results = _lines(capsys.readouterr().out)
    assert code == 0, results
    assert set(results.values()) == {"PASS"}
    assert "qbo query select *, Sku from Item" in results
    assert "qbo Preferences (custom txn numbers, multicurrency, sales tax)" in results


def test_qbo_smoke_write_creates_an_invoice_and_voids_it(qbo, capsys):
    sandbox, tenant_id = qbo
    argv = ["smoke", "--provider", "qbo", "--tenant", tenant_id]

    code = run([*argv, "--write", "--yes-this-is-a-sandbox"], sandbox.settings)

    output = capsys.readouterr().out
    results = _lines(output)
    assert code == 0, output
    assert results["qbo write (create an invoice)"] == "PASS"
    assert results["qbo write (void the invoice)"] == "PASS"
