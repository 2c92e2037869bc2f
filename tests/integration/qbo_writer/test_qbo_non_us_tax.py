"""A UK (VAT) QBO company: every line carries a real TaxCode Id, GlobalTaxCalculation follows
the tenant's Keap pricing, and QBO's total is Keap's, or the cent QBO's own VAT rounding
leaves is said in the sync result."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
import requests

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.domain.canonical import LineKind
from invoicesync.domain.tenant_settings import KeapSettings, TaxHandling
from invoicesync.events import EventType, SyncAction, envelope_for, payload_of
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from tests.integration.qbo_writer.corpus import point_at_items, qbo_tenant
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox
from tests.unit.domain.canonical_builders import charge, contact, inclusive_tax, invoice, product

pytestmark = pytest.mark.infra

STANDARD_RATE, ZERO_RATE = "20.0% S", "0.0% Z"


@pytest.fixture
def uk_tenant(sandbox: QboSandbox):
    """A tenant connected to a company re-seeded as British, its settings on VAT codes."""
    client = redis_from_settings(sandbox.settings)
    tenant_id, _ = qbo_tenant(client)
    realm = sandbox.connect(tenant_id)
    requests.put(
        f"{sandbox.base_url}/_sandbox/qbo/companies/{realm}", json={"country": "GB"}, timeout=5
    ).raise_for_status()
    qbo = qbo_client_from_settings(sandbox.settings, client)
    settings = point_at_items(client, qbo, tenant_id)
    codes = {name: code_id for code_id, name in qbo.tax_codes(tenant_id).items()}
    settings = replace(
        settings,
        keap=KeapSettings(currency="GBP"),
        qbo=replace(
            settings.qbo, tax_code_id=codes[STANDARD_RATE], non_taxable_tax_code_id=codes[ZERO_RATE]
        ),
    )
    TenantStore(client).save_settings(tenant_id, settings)
    return tenant_id, realm, codes


def _price_inclusive(tenant_id: str, sandbox: QboSandbox) -> None:
    store = TenantStore(redis_from_settings(sandbox.settings))
    settings = store.settings(tenant_id)
    keap = replace(settings.keap, tax_handling=TaxHandling.INCLUSIVE)
    store.save_settings(tenant_id, replace(settings, keap=keap))


def _event(tenant_id, keap_id, canonical):
    canonical = replace(
        canonical,
        tenant_id=tenant_id,
        keap_invoice_id=keap_id,
        invoice_number=f"UK-{keap_id}",
        currency="GBP",
        contact=contact(keap_id=f"c{keap_id}", email=f"{keap_id}@example.co.uk"),
        content_hash=f"h{keap_id}",
    )
    return canonical, envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)


def _write(sandbox, publisher, tenant_id, keap_id, canonical):
    canonical, event = _event(tenant_id, keap_id, canonical)
    writer = sandbox.writer(publisher)
    [result] = [payload_of(item.envelope) for item in writer.handle([event])]
    return canonical, result


def _in_qbo(sandbox, realm, tenant_id, number):
    [row] = sandbox.query(realm, tenant_id, f"select * from Invoice where DocNumber = '{number}'")
    return row


def _line_codes(row):
    return {
        line["Description"]: line["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        for line in row["Line"]
        if line["DetailType"] == "SalesItemLineDetail"
    }


def test_taxable_and_zero_rated_lines_each_carry_their_vat_code_and_keaps_total(
    sandbox, publisher, uk_tenant
):
    tenant_id, realm, codes = uk_tenant
    keap = invoice(
        product("100.00", taxable=True, description="Course"),
        product("50.00", description="Book"),
        charge(LineKind.TAX, "20.00"),
    )

    canonical, result = _write(sandbox, publisher, tenant_id, "v1", keap)

    assert result.action is SyncAction.CREATED, result.reason
    row = _in_qbo(sandbox, realm, tenant_id, canonical.invoice_number)
    assert _line_codes(row) == {"Course": codes[STANDARD_RATE], "Book": codes[ZERO_RATE]}
    assert row["GlobalTaxCalculation"] == "TaxExcluded"
    assert "TxnTaxCodeRef" not in row["TxnTaxDetail"]  # US-only
    assert Decimal(str(row["TxnTaxDetail"]["TotalTax"])) == Decimal("20.00")
    assert Decimal(str(row["TotalAmt"])) == canonical.totals.total == Decimal("170.00")
    assert "differs" not in result.reason


def test_a_tenant_pricing_tax_inclusive_sends_tax_inclusive_lines(sandbox, publisher, uk_tenant):
    tenant_id, realm, codes = uk_tenant
    _price_inclusive(tenant_id, sandbox)
    keap = invoice(
        product("120.00", taxable=True, description="Course"),
        product("50.00", description="Book"),
        inclusive_tax("20.00"),
        tax_inclusive=True,
    )

    canonical, result = _write(sandbox, publisher, tenant_id, "v2", keap)

    assert result.action is SyncAction.CREATED, result.reason
    row = _in_qbo(sandbox, realm, tenant_id, canonical.invoice_number)
    assert row["GlobalTaxCalculation"] == "TaxInclusive"
    assert _line_codes(row) == {"Course": codes[STANDARD_RATE], "Book": codes[ZERO_RATE]}
    assert Decimal(str(row["TxnTaxDetail"]["TotalTax"])) == Decimal("20.00")
    assert Decimal(str(row["TotalAmt"])) == canonical.totals.total == Decimal("170.00")


def test_a_cent_of_vat_rounding_qbo_computes_its_own_way_is_recorded_in_the_result(
    sandbox, publisher, uk_tenant
):
    """Keap rounds VAT per line (0.21 + 0.21); QBO per rate over the sum (2.06 × 20 % = 0.41)."""
    tenant_id, realm, _ = uk_tenant
    keap = invoice(
        product("1.03", taxable=True, description="Sticker"),
        product("1.03", taxable=True, description="Badge"),
        product("5.00", description="Leaflet"),
        charge(LineKind.TAX, "0.42"),
    )

    canonical, result = _write(sandbox, publisher, tenant_id, "v3", keap)

    assert result.action is SyncAction.CREATED, result.reason
    row = _in_qbo(sandbox, realm, tenant_id, canonical.invoice_number)
    qbo_total = Decimal(str(row["TotalAmt"]))
    assert canonical.totals.total == Decimal("7.48")
    # Keap's VAT goes to QBO as the tax line's amount (the documented override); a QBO that
    # recomputes it anyway (the sandbox does) leaves a cent, which the result must name.
    if qbo_total == canonical.totals.total:
        assert "differs" not in result.reason
    else:
        assert abs(qbo_total - canonical.totals.total) == Decimal("0.01")
        assert f"QBO's total {qbo_total} differs from Keap's 7.48" in result.reason
