from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Contact,
    Line,
    LineKind,
    Totals,
)
from invoicesync.errors import InvalidInput
from invoicesync.events import (
    EventType,
    KeapNotification,
    LedgerPaymentRecordRequest,
    NotificationSource,
    envelope_for,
    envelope_from_bytes,
    payload_of,
)


def an_invoice() -> CanonicalInvoice:
    return CanonicalInvoice(
        tenant_id="t1",
        keap_invoice_id="17",
        keap_order_id="42",
        invoice_number="17",
        contact=Contact(keap_id="9", name="Jane Smith", email="jane@example.com"),
        currency="USD",
        invoice_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        lines=(
            Line(
                LineKind.PRODUCT,
                "Widget",
                Decimal("3"),
                Decimal("33.335"),
                Decimal("100.01"),
                taxable=True,
                sku="W-1",
            ),
        ),
        totals=Totals(
            Decimal("100.01"), Decimal("8.25"), Decimal("108.26"), Decimal("0"), Decimal("108.26")
        ),
        content_hash="abc",
    )


def test_a_canonical_invoice_survives_the_wire_exactly():
    invoice = an_invoice()
    raw = envelope_for(EventType.INVOICE_CANONICALISED, "t1", invoice).to_bytes()
    assert b'"100.01"' in raw and b'"33.335"' in raw, "amounts travel as decimal strings"
    assert payload_of(envelope_from_bytes(raw)) == invoice


def test_a_canonical_payment_survives_the_wire_exactly():
    payment = CanonicalPayment(
        "t1", "5", "17", Decimal("0.10"), date(2026, 11, 2), "card", content_hash="h"
    )
    raw = envelope_for(EventType.PAYMENT_CANONICALISED, "t1", payment).to_bytes()
    assert payload_of(envelope_from_bytes(raw)) == payment


def test_unknown_fields_from_a_newer_producer_are_ignored():
    notification = KeapNotification("order", "12", NotificationSource.POLL, datetime.now(UTC))
    envelope = envelope_for(EventType.KEAP_CHANGE_NOTIFIED, "t1", notification)
    envelope.payload["added_later"] = True
    assert payload_of(envelope_from_bytes(envelope.to_bytes())) == notification


@pytest.mark.parametrize("raw", [b"", b"{", b'{"type": "Nope"}', b"\xff\xfe"])
def test_an_unreadable_message_is_invalid_input(raw):
    with pytest.raises(InvalidInput):
        envelope_from_bytes(raw)


def test_a_payload_that_does_not_conform_names_the_field():
    notification = KeapNotification("order", "12", NotificationSource.HOOK, datetime.now(UTC))
    envelope = envelope_for(EventType.KEAP_CHANGE_NOTIFIED, "t1", notification)
    envelope.payload["object_type"] = "spaceship"
    with pytest.raises(InvalidInput, match="object_type"):
        payload_of(envelope_from_bytes(envelope.to_bytes()))


def test_a_ledger_payment_record_request_survives_the_wire():
    request = LedgerPaymentRecordRequest(
        destination="xero",
        payment_id="9f3c-pay",
        requested_at=datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
        invoice_id="inv-uuid",
        requested_by="ann@books.example",
        why="reconciliation re-sync",
    )
    envelope = envelope_for(EventType.LEDGER_PAYMENT_RECORD_REQUESTED, "t1", request)
    assert payload_of(envelope_from_bytes(envelope.to_bytes())) == request


def test_a_ledger_payment_record_request_names_a_ledger_we_write_to():
    request = LedgerPaymentRecordRequest("sage", "p1", datetime(2026, 3, 10, tzinfo=UTC))
    envelope = envelope_for(EventType.LEDGER_PAYMENT_RECORD_REQUESTED, "t1", request)
    with pytest.raises(InvalidInput, match="destination"):
        payload_of(envelope)
