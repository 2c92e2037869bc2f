"""The QBO writer's handler as a plain function over real Redis and the QBO sandbox: every
corpus invoice lands with Keap's total, payments link, skips are reported, and repeats,
a Redis flush and a replay create nothing twice."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.events import Envelope, SyncAction, payload_of
from invoicesync.stores.redis_connection import redis_from_settings
from tests.integration.qbo_writer.corpus import (
    ORDERS,
    corpus_invoice,
    events_for,
    point_at_items,
    qbo_tenant,
)
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox, qbo_sandbox_without_limits


@pytest.fixture
def sandbox(redis_server):
    with qbo_sandbox_without_limits(redis_server.address) as running:
        yield running


@pytest.fixture
def tenant(sandbox: QboSandbox):
    client = redis_from_settings(sandbox.settings)
    tenant_id, _ = qbo_tenant(client)
    realm = sandbox.connect(tenant_id)
    settings = point_at_items(client, qbo_client_from_settings(sandbox.settings, client), tenant_id)
    return tenant_id, realm, settings


def corpus_events(tenant_id: str, settings) -> tuple[list[Envelope], dict]:
    events, invoices = [], {}
    for number, name in enumerate(ORDERS, start=1):
        invoice, payments = corpus_invoice(name, tenant_id, settings, number)
        invoices[name] = invoice
        events += events_for(tenant_id, invoice, payments)
    return events, invoices


def results(outgoing) -> list[tuple[str, str, SyncAction]]:
    loaded = [payload_of(o.envelope) for o in outgoing]
    return [(r.object_type, r.keap_id, r.action) for r in loaded]


def invoices_in_qbo(sandbox: QboSandbox, realm: str, tenant_id: str) -> dict[str, dict]:
    rows = sandbox.query(realm, tenant_id, "select * from Invoice maxresults 1000")
    return {row["DocNumber"]: row for row in rows}


def test_every_corpus_invoice_lands_in_qbo_with_keaps_total_and_dates(sandbox, tenant):
    tenant_id, realm, settings = tenant
    writer = sandbox.writer()
    events, invoices = corpus_events(tenant_id, settings)
    outcome = results(writer.handle(events))
    in_qbo = invoices_in_qbo(sandbox, realm, tenant_id)
    for name, invoice in invoices.items():
        if name == "zero-total":
            assert invoice.invoice_number not in in_qbo
            assert ("invoice", invoice.keap_invoice_id, SyncAction.SKIPPED) in outcome
            continue
        row = in_qbo[invoice.invoice_number]
        assert Decimal(str(row["TotalAmt"])) == invoice.totals.total, name
        assert row["TxnDate"] == invoice.invoice_date.isoformat()
        assert row["DueDate"] == invoice.due_date.isoformat(), name
    assert in_qbo[invoices["payment-plan"].invoice_number]["DueDate"] == "2024-07-21"
    sku_lines = in_qbo[invoices["sku"].invoice_number]["Line"]
    assert sku_lines[0]["SalesItemLineDetail"]["ItemRef"]["name"] == "Workbook"


def test_payments_link_to_their_invoices_and_an_overpayment_is_skipped(sandbox, tenant):
    tenant_id, realm, settings = tenant
    writer = sandbox.writer()
    events, invoices = corpus_events(tenant_id, settings)
    outcome = results(writer.handle(events))
    in_qbo = invoices_in_qbo(sandbox, realm, tenant_id)
    assert in_qbo[invoices["paid-at-checkout"].invoice_number]["Balance"] == 0
    partly = in_qbo[invoices["partly-paid"].invoice_number]
    assert Decimal(str(partly["Balance"])) == Decimal("80.00")  # 200 − 50 − 70
    payments = sandbox.query(realm, tenant_id, "select * from Payment")
    assert len(payments) == 3
    refunds = sandbox.query(realm, tenant_id, "select * from RefundReceipt")
    assert [Decimal(str(r["TotalAmt"])) for r in refunds] == [Decimal("20.00")]
    assert sum(1 for kind, _, action in outcome if kind == "payment" and action == "created") == 4


def test_an_overpayment_is_skipped_when_the_option_is_on(sandbox, tenant):
    tenant_id, realm, settings = tenant
    writer = sandbox.writer()
    invoice, payments = corpus_invoice("paid-at-checkout", tenant_id, settings, 1)
    over = replace(payments[0], keap_payment_id="9999", amount=Decimal("30.00"))
    outcome = results(writer.handle(events_for(tenant_id, invoice, [over])))
    assert ("payment", "9999", SyncAction.SKIPPED) in outcome
    assert sandbox.query(realm, tenant_id, "select * from Payment") == []


def test_a_backlog_is_written_in_batches_of_thirty(sandbox, tenant):
    tenant_id, realm, settings = tenant
    writer = sandbox.writer()
    events = []
    for number in range(60):
        invoice, _ = corpus_invoice("widgets", tenant_id, settings, 100 + number)
        events += events_for(tenant_id, invoice, [])
    writer.handle(events[:1])  # warm the reference data and the customer
    before = sandbox.counters()
    writer.handle(events[1:31])
    writer.handle(events[31:])
    after = sandbox.counters()
    batch_calls = after.get("POST /v3/company/<realm_id>/batch", 0) - before.get(
        "POST /v3/company/<realm_id>/batch", 0
    )
    assert batch_calls == 2
    assert sum(after.values()) - sum(before.values()) == 2  # nothing but the two batches
    assert len(invoices_in_qbo(sandbox, realm, tenant_id)) == 60


def test_the_same_events_three_times_create_each_invoice_and_payment_once(sandbox, tenant):
    tenant_id, realm, settings = tenant
    writer = sandbox.writer()
    events, invoices = corpus_events(tenant_id, settings)
    for _ in range(3):
        writer.handle(events)
    assert len(invoices_in_qbo(sandbox, realm, tenant_id)) == len(invoices) - 1
    assert len(sandbox.query(realm, tenant_id, "select * from Payment")) == 3
    assert len(sandbox.query(realm, tenant_id, "select * from RefundReceipt")) == 1


def test_after_a_redis_flush_invoices_are_adopted_by_number_not_created_again(sandbox, tenant):
    tenant_id, realm, settings = tenant
    client = redis_from_settings(sandbox.settings)
    events, invoices = corpus_events(tenant_id, settings)
    sandbox.writer().handle(events)
    snapshot = {key: client.dump(key) for key in client.keys(f"*tenant:{tenant_id}:*")}
    # Lose everything but the tenant and its connection: id map, caches, customers.
    for key in snapshot:
        if b":idmap:" in key or b":qbo:" in key:
            client.delete(key)
    outcome = results(sandbox.writer().handle(events))
    assert len(invoices_in_qbo(sandbox, realm, tenant_id)) == len(invoices) - 1
    assert len(sandbox.query(realm, tenant_id, "select * from Payment")) == 3
    assert len(sandbox.query(realm, tenant_id, "select * from Customer")) == 1
    assert not any(action == SyncAction.FAILED for _, _, action in outcome)


def test_an_edited_invoice_is_updated_in_place(sandbox, tenant):
    tenant_id, realm, settings = tenant
    writer = sandbox.writer()
    invoice, _ = corpus_invoice("finance-charge", tenant_id, settings, 1)
    writer.handle(events_for(tenant_id, invoice, []))
    later = replace(invoice, due_date=invoice.due_date.replace(day=28), content_hash="edited")
    outcome = results(writer.handle(events_for(tenant_id, later, [])))
    assert outcome == [("invoice", invoice.keap_invoice_id, SyncAction.UPDATED)]
    rows = invoices_in_qbo(sandbox, realm, tenant_id)
    assert len(rows) == 1
    assert rows[invoice.invoice_number]["DueDate"] == later.due_date.isoformat()
