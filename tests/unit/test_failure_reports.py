"""Every dead letter names what failed in the tenant's activity log."""

from __future__ import annotations

from datetime import UTC, date, datetime

from invoicesync.errors import Transient, UnknownTenant
from invoicesync.events import Envelope, EventType, Topic, payload_of
from invoicesync.kafka.dead_letters import ConsumedRecord
from invoicesync.kafka.failure_policies import DeadLetter
from invoicesync.kafka.failure_reports import failed_sync_report

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RECORD = ConsumedRecord("canonical.events", 0, 7, b"t1", b"{}", 0)
PAYMENT = {
    "tenant_id": "t1",
    "keap_payment_id": "88",
    "keap_invoice_id": "41",
    "amount": "12.50",
    "payment_date": date(2026, 12, 1).isoformat(),
    "method": "Credit Card",
    "content_hash": "abc",
    "invoice_number": "41",
}


def letter(envelope: Envelope | None, error: Exception) -> DeadLetter:
    return DeadLetter(RECORD, envelope, "t1", error, attempts=9)


def test_a_writer_dead_letter_becomes_a_failed_entry_naming_the_payment_and_the_error():
    envelope = Envelope(type=EventType.PAYMENT_CANONICALISED, tenant_id="t1", payload=PAYMENT)
    [outgoing] = failed_sync_report("xero", clock=lambda: NOW)(
        letter(envelope, Transient("xero answered 500"))
    )
    result = payload_of(outgoing.envelope)
    assert outgoing.topic is Topic.SYNC_RESULTS and outgoing.envelope.tenant_id == "t1"
    assert (result.destination, result.object_type, result.keap_id) == ("xero", "payment", "88")
    assert result.action.value == "failed" and result.invoice_number == "41"
    assert "9 attempt" in result.reason and "xero answered 500" in result.reason


def test_a_ledger_notification_names_its_own_ledger_and_entity():
    payload = {
        "destination": "qbo",
        "entity": "payment",
        "entity_id": "145",
        "source": "poll",
        "observed_at": NOW.isoformat(),
    }
    envelope = Envelope(type=EventType.LEDGER_CHANGE_NOTIFIED, tenant_id="t1", payload=payload)
    report = failed_sync_report(lambda e: e.payload["destination"], clock=lambda: NOW)
    [outgoing] = report(letter(envelope, Transient("qbo timed out")))
    result = payload_of(outgoing.envelope)
    assert (result.destination, result.object_type, result.destination_id) == (
        "qbo",
        "payment",
        "145",
    )


def test_no_entry_without_a_readable_message_or_a_tenant():
    report = failed_sync_report("qbo", clock=lambda: NOW)
    assert report(letter(None, ValueError("not json"))) == []
    envelope = Envelope(type=EventType.PAYMENT_CANONICALISED, tenant_id="gone", payload=PAYMENT)
    assert report(letter(envelope, UnknownTenant("gone"))) == []
