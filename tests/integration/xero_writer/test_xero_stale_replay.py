"""Replaying an old canonical invoice (a dead letter sent back days later) never overwrites
newer content the ledger already has: the writer compares Keap's modification times."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from invoicesync.events import EventType, SyncAction, envelope_for, payload_of
from invoicesync.stores.id_map import IdMap
from tests.unit.domain.canonical_builders import contact, invoice, product

pytestmark = pytest.mark.infra

MODIFIED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _version(tenant_id: str, amount: str, content_hash: str, modified_at: datetime | None):
    canonical = replace(
        invoice(product(amount)),
        tenant_id=tenant_id,
        keap_invoice_id="r1",
        invoice_number="K-r1",
        contact=contact(name="Jane Smith", keap_id="cr1", email="r1@example.com"),
        content_hash=content_hash,
        keap_modified_at=modified_at,
    )
    return envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)


def _total(stack, tenant_id: str) -> Decimal:
    [row] = stack.invoices(tenant_id)
    return Decimal(str(row["Total"]))


def test_a_replayed_older_version_leaves_the_newer_ledger_content_alone(xero_stack):
    tenant_id = xero_stack.connect_tenant("stale-replay")
    writer = xero_stack.writer()
    old = _version(tenant_id, "100.00", "h-old", MODIFIED)
    new = _version(tenant_id, "120.00", "h-new", MODIFIED + timedelta(minutes=5))
    writer.handle([old])
    [updated] = [payload_of(o.envelope) for o in writer.handle([new])]

    [replayed] = [payload_of(o.envelope) for o in writer.handle([old])]

    assert updated.action is SyncAction.UPDATED
    assert replayed.action is SyncAction.SKIPPED
    assert "older" in replayed.reason
    assert _total(xero_stack, tenant_id) == Decimal("120.00")


def test_a_newer_version_still_updates_and_an_unversioned_one_is_not_refused(xero_stack):
    tenant_id = xero_stack.connect_tenant("newer-version")
    writer = xero_stack.writer()
    writer.handle([_version(tenant_id, "100.00", "h1", MODIFIED)])

    [newer] = [
        payload_of(o.envelope)
        for o in writer.handle([_version(tenant_id, "130.00", "h2", MODIFIED + timedelta(1))])
    ]
    [unversioned] = [
        payload_of(o.envelope) for o in writer.handle([_version(tenant_id, "140.00", "h3", None)])
    ]

    assert (newer.action, unversioned.action) == (SyncAction.UPDATED, SyncAction.UPDATED)
    assert _total(xero_stack, tenant_id) == Decimal("140.00")
    mapped = IdMap(xero_stack.redis, None, xero_stack.settings).get(
        tenant_id, "xero", "invoice", "r1"
    )
    assert mapped.keap_modified_at == (MODIFIED + timedelta(1)).isoformat()
