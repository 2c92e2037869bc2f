"""Keap refunds through the Xero writer: a credit note whose cash is paid back, once, as Xero
shows it (balances of the invoice and the credit note), replays and a lost id map included."""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import PaymentKind
from invoicesync.events import EventType, SyncAction, Topic, envelope_for, payload_of
from tests.integration.kafka.test_consumer_loop import read_topic
from tests.unit.domain.canonical_builders import contact, invoice, payment, product
from xero_writer.main import build_loop

pytestmark = pytest.mark.infra

# Longer than the Idempotency-Key window (6 minutes, in Xero and in the sandbox).
PAST_IDEMPOTENCY_WINDOW = 7 * 60


def _invoice_event(tenant_id, keap_id, amount):
    canonical = replace(
        invoice(product(amount)),
        tenant_id=tenant_id,
        keap_invoice_id=keap_id,
        invoice_number=f"K-{keap_id}",
        contact=contact(keap_id=f"c{keap_id}", email=f"{keap_id}@example.com"),
        content_hash=f"h{keap_id}",
    )
    return envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)


def _money_event(tenant_id, keap_invoice_id, amount, payment_id, kind=PaymentKind.PAYMENT):
    canonical = replace(
        payment(amount, payment_id=payment_id, kind=kind),
        tenant_id=tenant_id,
        keap_invoice_id=keap_invoice_id,
        content_hash=f"p{payment_id}",
    )
    return envelope_for(EventType.PAYMENT_CANONICALISED, tenant_id, canonical)


def _refund_event(tenant_id, keap_invoice_id, amount, refund_id):
    return _money_event(tenant_id, keap_invoice_id, amount, refund_id, PaymentKind.REFUND)


def _results(outgoing):
    return [payload_of(item.envelope) for item in outgoing]


def _credit_notes(stack, tenant_id):
    rows = stack.client._get(tenant_id, "/CreditNotes").get("CreditNotes", [])
    return [
        stack.client._get(tenant_id, f"/CreditNotes/{row['CreditNoteID']}")["CreditNotes"][0]
        for row in rows
    ]


def _refund_payments(stack, tenant_id, refund_id):
    """Live payments Xero holds for a Keap refund (on the credit note, never on the invoice)."""
    rows = stack.client._get(tenant_id, "/Payments").get("Payments", [])
    return [
        row
        for row in rows
        if row["Reference"] == f"Keap refund {refund_id}" and row["Status"] != "DELETED"
    ]


def _money(value) -> Decimal:
    return Decimal(str(value))


def _forget_id_map(stack, tenant_id):
    for key in stack.redis.scan_iter(f"invoicesync:tenant:{tenant_id}:idmap*"):
        stack.redis.delete(key)


def test_a_refund_of_a_paid_invoice_is_a_credit_note_whose_cash_goes_back(xero_stack):
    tenant_id = xero_stack.connect_tenant("refund-paid")
    writer = xero_stack.writer()
    writer.handle(
        [_invoice_event(tenant_id, "r1", "100.00"), _money_event(tenant_id, "r1", "100.00", "p1")]
    )

    [result] = _results(writer.handle([_refund_event(tenant_id, "r1", "100.00", "rf1")]))

    [note] = _credit_notes(xero_stack, tenant_id)
    [row] = xero_stack.invoices(tenant_id)
    assert (result.object_type, result.keap_id, result.action) == (
        "payment",
        "rf1",
        SyncAction.CREATED,
    )
    assert result.destination_id == note["CreditNoteID"]
    assert note["Type"] == "ACCRECCREDIT"
    assert note["Contact"]["ContactID"] == row["Contact"]["ContactID"]
    assert (_money(note["Total"]), _money(note["RemainingCredit"])) == (Decimal("100.00"), 0)
    assert note["Status"] == "PAID"  # all of its credit was paid back out
    [cash_back] = _refund_payments(xero_stack, tenant_id, "rf1")
    assert cash_back["PaymentType"] == "ARCREDITPAYMENT"
    assert _money(cash_back["Amount"]) == Decimal("100.00")
    assert cash_back["Reference"] == "Keap refund rf1"
    # The invoice stays paid: the money came in, and went back out through the credit note.
    assert (row["Status"], _money(row["AmountPaid"]), _money(row["AmountDue"])) == (
        "PAID",
        Decimal("100.00"),
        0,
    )


def test_a_refund_on_a_partly_paid_invoice_pays_back_only_the_refund(xero_stack):
    tenant_id = xero_stack.connect_tenant("refund-partly")
    writer = xero_stack.writer()
    writer.handle(
        [_invoice_event(tenant_id, "r2", "100.00"), _money_event(tenant_id, "r2", "40.00", "p2")]
    )

    [result] = _results(writer.handle([_refund_event(tenant_id, "r2", "40.00", "rf2")]))

    assert result.action is SyncAction.CREATED
    [note] = _credit_notes(xero_stack, tenant_id)
    assert (_money(note["Total"]), _money(note["RemainingCredit"])) == (Decimal("40.00"), 0)
    assert not note.get("Allocations"), "the cash went back; nothing is credited to the invoice"
    [row] = xero_stack.invoices(tenant_id)
    assert (row["Status"], _money(row["AmountPaid"]), _money(row["AmountDue"])) == (
        "AUTHORISED",
        Decimal("40.00"),
        Decimal("60.00"),
    )


def test_the_same_refund_three_times_makes_one_credit_note_and_one_cash_refund(xero_stack):
    tenant_id = xero_stack.connect_tenant("refund-thrice")
    writer = xero_stack.writer()
    writer.handle(
        [_invoice_event(tenant_id, "r3", "80.00"), _money_event(tenant_id, "r3", "80.00", "p3")]
    )
    refund = _refund_event(tenant_id, "r3", "30.00", "rf3")

    first = _results(writer.handle([refund, refund]))
    again = _results(xero_stack.writer().handle([refund]))

    assert [r.action for r in first + again] == [SyncAction.CREATED] + [SyncAction.SKIPPED] * 2
    assert {r.destination_id for r in first + again} == {first[0].destination_id}
    assert len(_credit_notes(xero_stack, tenant_id)) == 1
    assert len(_refund_payments(xero_stack, tenant_id, "rf3")) == 1


def test_a_refund_replayed_after_redis_lost_its_id_map_adopts_its_credit_note(xero_stack):
    tenant_id = xero_stack.connect_tenant("refund-flushed")
    refund = _refund_event(tenant_id, "r4", "50.00", "rf4")
    topic = [
        _invoice_event(tenant_id, "r4", "50.00"),
        _money_event(tenant_id, "r4", "50.00", "p4"),
        refund,
    ]
    *_, created = _results(xero_stack.writer().handle(topic))

    # Each replay re-reads the tenant's events from the start, as a topic replay does.
    _forget_id_map(xero_stack, tenant_id)
    *_, inside_window = _results(xero_stack.writer().handle(topic))
    _forget_id_map(xero_stack, tenant_id)
    xero_stack.control("POST", "/clock", json={"advance_seconds": PAST_IDEMPOTENCY_WINDOW})
    *_, past_window = _results(xero_stack.writer().handle(topic))

    [note] = _credit_notes(xero_stack, tenant_id)
    assert created.action is SyncAction.CREATED
    for replayed in (inside_window, past_window):
        assert replayed.action is not SyncAction.FAILED, replayed.reason
        assert replayed.destination_id == note["CreditNoteID"]
    assert past_window.action is SyncAction.SKIPPED
    assert "found by its number" in past_window.reason
    refunds = _refund_payments(xero_stack, tenant_id, "rf4")
    assert [_money(p["Amount"]) for p in refunds] == [Decimal("50.00")]
    assert _money(note["RemainingCredit"]) == 0


def test_the_invoice_keap_re_reads_with_a_refund_is_not_an_edit_of_the_approved_invoice(
    xero_stack,
):
    """Keap's hook for a refund makes transform re-read the order: the invoice comes again with
    only its paid and due amounts changed, then the refund. Neither is an exception."""
    tenant_id = xero_stack.connect_tenant("refund-re-read")
    writer = xero_stack.writer()
    raised = _invoice_event(tenant_id, "r5", "100.00")
    writer.handle([raised, _money_event(tenant_id, "r5", "100.00", "p5")])
    keap_invoice = payload_of(raised)
    after_refund = replace(
        keap_invoice,
        totals=replace(keap_invoice.totals, paid=Decimal("0.00"), due=Decimal("100.00")),
        content_hash="h-r5-refunded",
    )

    invoice_result, refund_result = _results(
        writer.handle(
            [
                envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, after_refund),
                _refund_event(tenant_id, "r5", "100.00", "rf5"),
            ]
        )
    )

    assert (invoice_result.action, invoice_result.reason) == (SyncAction.SKIPPED, "already synced")
    assert refund_result.action is SyncAction.CREATED
    [row] = xero_stack.invoices(tenant_id)
    assert (row["Status"], _money(row["Total"])) == ("PAID", Decimal("100.00"))


def test_through_the_broker_a_refund_published_three_times_makes_one_credit_note(xero_stack):
    tenant_id = xero_stack.connect_tenant("refund-broker")
    refund = _refund_event(tenant_id, "r6", "25.00", "rf6")
    published = [
        _invoice_event(tenant_id, "r6", "25.00"),
        _money_event(tenant_id, "r6", "25.00", "p6"),
        refund,
        refund,
        refund,
    ]
    for event in published:
        xero_stack.publisher.publish(Topic.CANONICAL_EVENTS, event)
    loop = build_loop(xero_stack.settings, "refund-broker")
    running = threading.Thread(target=lambda: loop.run(install_signal_handlers=False))
    running.start()
    try:
        recorded = read_topic(xero_stack.settings, Topic.SYNC_RESULTS, expected=len(published))
    finally:
        loop.stop()
        running.join(timeout=15)

    refunds = [r["payload"] for r in recorded if r["payload"]["keap_id"] == "rf6"]
    assert [r["action"] for r in refunds] == ["created", "skipped", "skipped"]
    [note] = _credit_notes(xero_stack, tenant_id)
    assert {r["destination_id"] for r in refunds} == {note["CreditNoteID"]}
    assert _money(note["RemainingCredit"]) == 0
    assert len(_refund_payments(xero_stack, tenant_id, "rf6")) == 1
