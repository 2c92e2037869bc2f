"""Keap refunds through the QBO writer: a RefundReceipt paying the cash back from the bank, once,
whatever is replayed, with the invoice's balance as QBO shows it."""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import Decimal

import pytest

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.domain.canonical import PaymentKind
from invoicesync.events import EventType, SyncAction, Topic, envelope_for, payload_of
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.stores.redis_connection import redis_from_settings
from qbo_writer.main import build_loop
from tests.integration.kafka.test_consumer_loop import read_topic
from tests.integration.qbo_writer.corpus import point_at_items, qbo_tenant
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox
from tests.unit.domain.canonical_builders import contact, invoice, payment, product

pytestmark = pytest.mark.infra


@pytest.fixture
def tenant(sandbox: QboSandbox):
    client = redis_from_settings(sandbox.settings)
    tenant_id, _ = qbo_tenant(client)
    realm = sandbox.connect(tenant_id)
    point_at_items(client, qbo_client_from_settings(sandbox.settings, client), tenant_id)
    return tenant_id, realm


def _writer(sandbox: QboSandbox, publisher: Publisher):
    return sandbox.writer(publisher)


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


def _money_event(tenant_id, keap_invoice_id, amount, payment_id, *, kind=PaymentKind.PAYMENT):
    canonical = replace(
        payment(amount, payment_id=payment_id, kind=kind),
        tenant_id=tenant_id,
        keap_invoice_id=keap_invoice_id,
        content_hash=f"p{payment_id}",
    )
    return envelope_for(EventType.PAYMENT_CANONICALISED, tenant_id, canonical)


def _refund_event(tenant_id, keap_invoice_id, amount, refund_id, *, content_hash=None):
    event = _money_event(tenant_id, keap_invoice_id, amount, refund_id, kind=PaymentKind.REFUND)
    refund = replace(payload_of(event), content_hash=content_hash or f"p{refund_id}")
    return envelope_for(EventType.PAYMENT_CANONICALISED, tenant_id, refund)


def _results(outgoing):
    return [payload_of(item.envelope) for item in outgoing]


def _the_invoice(sandbox, realm, tenant_id):
    [row] = sandbox.query(realm, tenant_id, "select * from Invoice")
    return row


def _receipts(sandbox, realm, tenant_id):
    return sandbox.query(realm, tenant_id, "select * from RefundReceipt")


def _bank_ids(sandbox, realm, tenant_id):
    accounts = sandbox.query(realm, tenant_id, "select * from Account maxresults 1000")
    return {row["Id"] for row in accounts if row["AccountType"] == "Bank"}


def test_a_refund_of_a_paid_invoice_is_a_refund_receipt_from_the_bank(sandbox, publisher, tenant):
    tenant_id, realm = tenant
    writer = _writer(sandbox, publisher)
    writer.handle(
        [_invoice_event(tenant_id, "q1", "100.00"), _money_event(tenant_id, "q1", "100.00", "p1")]
    )

    [result] = _results(writer.handle([_refund_event(tenant_id, "q1", "100.00", "rf1")]))

    [receipt] = _receipts(sandbox, realm, tenant_id)
    row = _the_invoice(sandbox, realm, tenant_id)
    assert (result.object_type, result.keap_id, result.action) == (
        "payment",
        "rf1",
        SyncAction.CREATED,
    )
    assert result.destination_id == receipt["Id"]
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("100.00")
    assert receipt["CustomerRef"]["value"] == row["CustomerRef"]["value"]
    assert receipt["DepositToAccountRef"]["value"] in _bank_ids(sandbox, realm, tenant_id)
    assert receipt["PaymentRefNum"] == "rf1"
    # The invoice stays paid in QBO: the cash came in by the payment, out by the receipt.
    assert Decimal(str(row["Balance"])) == 0


def test_a_refund_on_a_partly_paid_invoice_leaves_its_balance_alone(sandbox, publisher, tenant):
    tenant_id, realm = tenant
    writer = _writer(sandbox, publisher)
    writer.handle(
        [_invoice_event(tenant_id, "q2", "100.00"), _money_event(tenant_id, "q2", "40.00", "p2")]
    )

    [result] = _results(writer.handle([_refund_event(tenant_id, "q2", "40.00", "rf2")]))

    assert result.action is SyncAction.CREATED
    [receipt] = _receipts(sandbox, realm, tenant_id)
    assert Decimal(str(receipt["TotalAmt"])) == Decimal("40.00")
    row = _the_invoice(sandbox, realm, tenant_id)
    assert (Decimal(str(row["TotalAmt"])), Decimal(str(row["Balance"]))) == (
        Decimal("100.00"),
        Decimal("60.00"),
    )


def test_the_same_refund_three_times_makes_one_refund_receipt(sandbox, publisher, tenant):
    tenant_id, realm = tenant
    writer = _writer(sandbox, publisher)
    writer.handle(
        [_invoice_event(tenant_id, "q3", "80.00"), _money_event(tenant_id, "q3", "80.00", "p3")]
    )
    refund = _refund_event(tenant_id, "q3", "30.00", "rf3")

    first = _results(writer.handle([refund, refund]))
    again = _results(_writer(sandbox, publisher).handle([refund]))

    assert [r.action for r in first + again] == [SyncAction.CREATED] + [SyncAction.SKIPPED] * 2
    [receipt] = _receipts(sandbox, realm, tenant_id)
    assert {r.destination_id for r in first + again} == {receipt["Id"]}


def test_a_replay_after_a_redis_flush_adopts_the_receipt_by_its_number(sandbox, publisher, tenant):
    tenant_id, realm = tenant
    topic = [
        _invoice_event(tenant_id, "q4", "50.00"),
        _money_event(tenant_id, "q4", "50.00", "p4"),
        _refund_event(tenant_id, "q4", "50.00", "rf4"),
    ]
    *_, created = _results(_writer(sandbox, publisher).handle(topic))
    client = redis_from_settings(sandbox.settings)

    def lose_redis():
        for key in client.keys(f"invoicesync:tenant:{tenant_id}:*"):
            if b":idmap" in key or b":qbo:" in key:
                client.delete(key)

    lose_redis()
    *_, replayed = _results(_writer(sandbox, publisher).handle(topic))
    # The refund re-read from Keap after an edit there: a new hash, so a new requestid, and
    # only the receipt's number stands between it and a second receipt.
    lose_redis()
    edited = [*topic[:2], _refund_event(tenant_id, "q4", "50.00", "rf4", content_hash="edited")]
    *_, re_read = _results(_writer(sandbox, publisher).handle(edited))

    [receipt] = _receipts(sandbox, realm, tenant_id)
    assert created.action is SyncAction.CREATED
    for later in (replayed, re_read):
        assert later.action is not SyncAction.FAILED, later.reason
        assert later.destination_id == receipt["Id"]
    assert re_read.action is SyncAction.SKIPPED
    assert "found by its number" in re_read.reason
    assert len(sandbox.query(realm, tenant_id, "select * from Payment")) == 1


def test_through_the_broker_a_refund_replayed_makes_one_receipt(sandbox, publisher, tenant):
    tenant_id, realm = tenant
    refund = _refund_event(tenant_id, "q5", "25.00", "rf5")
    published = [
        _invoice_event(tenant_id, "q5", "25.00"),
        _money_event(tenant_id, "q5", "25.00", "p5"),
        refund,
        refund,
        refund,
    ]
    publisher.publish_all([Outgoing(Topic.CANONICAL_EVENTS, event) for event in published])
    loop = build_loop(sandbox.settings, group_id="refund-broker")
    running = threading.Thread(target=lambda: loop.run(install_signal_handlers=False))
    running.start()
    try:
        recorded = read_topic(sandbox.settings, Topic.SYNC_RESULTS, expected=len(published))
    finally:
        loop.stop()
        running.join(timeout=15)

    refunds = [r["payload"] for r in recorded if r["payload"]["keap_id"] == "rf5"]
    assert [r["action"] for r in refunds] == ["created", "skipped", "skipped"]
    [receipt] = _receipts(sandbox, realm, tenant_id)
    assert {r["destination_id"] for r in refunds} == {receipt["Id"]}
