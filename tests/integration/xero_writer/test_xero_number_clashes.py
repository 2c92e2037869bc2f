"""Keap's numbers against a Xero organisation that traded before us: its own invoices are never
adopted or rewritten; ours still are (a replay after a lost id map)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
import requests

from invoicesync.events import SyncAction, payload_of
from tests.integration.xero_writer.test_xero_writer_flow import CORPUS, _invoice_event

pytestmark = pytest.mark.infra


def _with_history(stack, name: str) -> str:
    tenant_id = stack.connect_tenant(name)
    organisation = stack.tenants_xero_id(tenant_id)
    requests.put(
        f"{stack.sandbox_url}/_sandbox/xero/organisations/{organisation}/invoice-history",
        timeout=5,
    ).raise_for_status()
    return tenant_id


def _write(stack, *events):
    return [payload_of(o.envelope) for o in stack.writer().handle(list(events))]


def _numbered(tenant_id, keap_id, number, **kwargs):
    event = _invoice_event(tenant_id, CORPUS["overrides"], keap_id, **kwargs)
    event.payload["invoice_number"] = number
    return event


def test_a_keap_number_the_organisation_used_itself_is_a_clash_and_its_invoice_is_left_alone(
    xero_stack,
):
    tenant_id = _with_history(xero_stack, "history-clash")

    [result] = _write(xero_stack, _numbered(tenant_id, "1001", "1001"))

    assert result.action is SyncAction.FAILED
    assert "number clash" in result.reason and "1001" in result.reason
    [theirs] = [row for row in xero_stack.invoices(tenant_id) if row["InvoiceNumber"] == "1001"]
    assert Decimal(str(theirs["Total"])) == Decimal("75.00")
    assert theirs["Contact"]["Name"] == "Walk-in Customer"


def test_an_invoice_of_ours_found_by_its_number_is_still_adopted(xero_stack):
    tenant_id = _with_history(xero_stack, "history-ours")
    _write(xero_stack, _numbered(tenant_id, "77", "77"))
    for key in xero_stack.redis.scan_iter(f"invoicesync:tenant:{tenant_id}:idmap:*"):
        xero_stack.redis.delete(key)

    # A new content hash: a new Idempotency-Key, so Xero answers "must be unique".
    [again] = _write(xero_stack, _numbered(tenant_id, "77", "77", content_hash="h-after"))

    assert again.action is SyncAction.SKIPPED and "found by its number" in again.reason
    assert [row["InvoiceNumber"] for row in xero_stack.invoices(tenant_id)].count("77") == 1


def test_with_a_prefix_keaps_number_lands_beside_the_organisations_own(xero_stack):
    tenant_id = _with_history(xero_stack, "history-prefix")
    settings = xero_stack.tenants.settings(tenant_id)
    prefixed = replace(settings, sync=replace(settings.sync, invoice_number_prefix="K-"))
    xero_stack.tenants.save_settings(tenant_id, prefixed)

    [result] = _write(xero_stack, _numbered(tenant_id, "1001", "1001"))

    assert (result.action, result.invoice_number) == (SyncAction.CREATED, "K-1001")
    by_number = {row["InvoiceNumber"]: row for row in xero_stack.invoices(tenant_id)}
    assert by_number["K-1001"]["Reference"].startswith("Keap order ")
    assert Decimal(str(by_number["1001"]["Total"])) == Decimal("75.00")
