"""Keap's numbers against a QBO company that traded before us: its own invoices are never
adopted or rewritten; ours still are (a replay after a lost id map)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
import requests

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.events import EventType, SyncAction, envelope_for, payload_of
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from tests.integration.qbo_writer.corpus import ORDERS, corpus_invoice, point_at_items, qbo_tenant
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox

pytestmark = pytest.mark.infra


@pytest.fixture
def tenant(sandbox: QboSandbox):
    """A tenant whose company already holds invoices 1-3 and 1001-1010 of its own."""
    client = redis_from_settings(sandbox.settings)
    tenant_id, _ = qbo_tenant(client)
    realm = sandbox.connect(tenant_id)
    requests.put(
        f"{sandbox.base_url}/_sandbox/qbo/companies/{realm}",
        json={"invoice_history": True},
        timeout=5,
    ).raise_for_status()
    settings = point_at_items(client, qbo_client_from_settings(sandbox.settings, client), tenant_id)
    return tenant_id, realm, settings


def _keap_invoice(tenant_id, settings, keap_id: str):
    invoice, _ = corpus_invoice(next(iter(ORDERS)), tenant_id, settings, 1)
    return replace(invoice, keap_invoice_id=keap_id, invoice_number=keap_id)


def _write(sandbox, tenant_id, *invoices):
    events = [envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, i) for i in invoices]
    return [payload_of(o.envelope) for o in sandbox.writer().handle(events)]


def test_a_keap_number_the_company_used_itself_is_a_clash_and_its_invoice_is_left_alone(
    sandbox, tenant
):
    tenant_id, realm, settings = tenant

    [result] = _write(sandbox, tenant_id, _keap_invoice(tenant_id, settings, "1001"))

    assert result.action is SyncAction.FAILED
    assert "number clash" in result.reason and "1001" in result.reason
    [theirs] = sandbox.query(realm, tenant_id, "select * from Invoice where DocNumber = '1001'")
    assert (theirs["TotalAmt"], theirs["PrivateNote"]) == (Decimal("75.00"), "Raised in QuickBooks")
    assert result.destination_id in (None, theirs["Id"])


def test_an_invoice_of_ours_found_by_its_number_is_still_adopted(sandbox, tenant):
    tenant_id, realm, settings = tenant
    ours = _keap_invoice(tenant_id, settings, "77")
    _write(sandbox, tenant_id, ours)
    for key in sandbox.redis().scan_iter(f"invoicesync:tenant:{tenant_id}:idmap:*"):
        sandbox.redis().delete(key)

    # A new content hash: a new requestid, so QBO answers 6140 instead of replaying.
    [again] = _write(sandbox, tenant_id, replace(ours, content_hash="after-redis-loss"))

    assert again.action is SyncAction.SKIPPED and "found by its number" in again.reason
    assert len(sandbox.query(realm, tenant_id, "select * from Invoice where DocNumber = '77'")) == 1


def test_with_a_prefix_keaps_number_lands_beside_the_companys_own(sandbox, tenant):
    tenant_id, realm, settings = tenant
    store = TenantStore(redis_from_settings(sandbox.settings))
    prefixed = replace(settings, sync=replace(settings.sync, invoice_number_prefix="K-"))
    store.save_settings(tenant_id, prefixed)

    [result] = _write(sandbox, tenant_id, _keap_invoice(tenant_id, settings, "1001"))

    assert (result.action, result.invoice_number) == (SyncAction.CREATED, "K-1001")
    [ours] = sandbox.query(realm, tenant_id, "select * from Invoice where DocNumber = 'K-1001'")
    assert ours["PrivateNote"].startswith("Keap invoice 1001,")
    [theirs] = sandbox.query(realm, tenant_id, "select * from Invoice where DocNumber = '1001'")
    assert theirs["TotalAmt"] == Decimal("75.00")
