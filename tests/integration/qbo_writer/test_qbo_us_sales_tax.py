"""A US company collecting sales tax for several agencies: the tax code on the invoice decides
which agency QBO owes the tax to, so the tenant chooses it; without a choice nothing is booked."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
import requests

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.domain.canonical import LineKind
from invoicesync.events import EventType, SyncAction, envelope_for, payload_of
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from tests.integration.qbo_writer.corpus import point_at_items, qbo_tenant
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox
from tests.unit.domain.canonical_builders import charge, contact, invoice, product

pytestmark = pytest.mark.infra

# Sorted as strings, the California code (seeded first) comes before these: the old writer's
# pick, whatever the tenant's sales were.
JURISDICTIONS = [{"name": "New York", "percent": "8.875"}, {"name": "Texas", "percent": "6.25"}]


@pytest.fixture
def multi_state_tenant(sandbox: QboSandbox):
    """A tenant on a US company with three sales tax agencies, no tax code chosen yet."""
    client = redis_from_settings(sandbox.settings)
    tenant_id, _ = qbo_tenant(client)
    realm = sandbox.connect(tenant_id)
    answer = requests.put(
        f"{sandbox.base_url}/_sandbox/qbo/companies/{realm}",
        json={"sales_tax_jurisdictions": JURISDICTIONS},
        timeout=5,
    )
    answer.raise_for_status()
    codes = {row["name"]: row["tax_code_id"] for row in answer.json()["tax_codes"]}
    point_at_items(client, qbo_client_from_settings(sandbox.settings, client), tenant_id)
    return tenant_id, realm, codes


def _write(sandbox, publisher, tenant_id, keap_id):
    canonical = replace(
        invoice(product("100.00", taxable=True), charge(LineKind.TAX, "8.88")),
        tenant_id=tenant_id,
        keap_invoice_id=keap_id,
        invoice_number=f"US-{keap_id}",
        contact=contact(keap_id=f"c{keap_id}", email=f"{keap_id}@example.com"),
        content_hash=f"h{keap_id}",
    )
    event = envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)
    [result] = [payload_of(item.envelope) for item in sandbox.writer(publisher).handle([event])]
    return canonical, result


def _in_qbo(sandbox, realm, tenant_id, number):
    return sandbox.query(realm, tenant_id, f"select * from Invoice where DocNumber = '{number}'")


def test_without_a_chosen_tax_code_a_multi_agency_invoice_is_refused_naming_the_setting(
    sandbox, publisher, multi_state_tenant
):
    tenant_id, realm, _ = multi_state_tenant

    canonical, result = _write(sandbox, publisher, tenant_id, "t1")

    assert result.action is SyncAction.FAILED
    assert "qbo.tax_code_id" in result.reason
    assert _in_qbo(sandbox, realm, tenant_id, canonical.invoice_number) == []


def test_the_chosen_tax_code_books_keaps_tax_to_that_agency(sandbox, publisher, multi_state_tenant):
    tenant_id, realm, codes = multi_state_tenant
    store = TenantStore(redis_from_settings(sandbox.settings))
    settings = store.settings(tenant_id)
    store.save_settings(
        tenant_id, replace(settings, qbo=replace(settings.qbo, tax_code_id=codes["New York"]))
    )

    canonical, result = _write(sandbox, publisher, tenant_id, "t2")

    assert result.action is SyncAction.CREATED, result.reason
    [row] = _in_qbo(sandbox, realm, tenant_id, canonical.invoice_number)
    detail = row["TxnTaxDetail"]
    assert detail["TxnTaxCodeRef"]["value"] == codes["New York"]
    assert Decimal(str(detail["TotalTax"])) == Decimal("8.88")
    [tax_line] = detail["TaxLine"]
    rate_id = tax_line["TaxLineDetail"]["TaxRateRef"]["value"]
    [rate] = sandbox.query(realm, tenant_id, f"select * from TaxRate where Id = '{rate_id}'")
    assert rate["AgencyRef"]["name"] == "New York Tax Agency"
