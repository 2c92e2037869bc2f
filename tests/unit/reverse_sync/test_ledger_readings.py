"""Webhook bodies, ledger payments and Keap payment notes read the way ReverseSync relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.domain.keap_order import KeapPayment
from invoicesync.domain.ledger_to_keap import DestinationPayment, carries_marker
from invoicesync.errors import InvalidInput
from reverse_sync.ledger_payments import (
    LedgerPaymentKind,
    qbo_ledger_payments,
    requested_readings,
    xero_ledger_payment,
)
from reverse_sync.payment_signals import may_signal_payment
from reverse_sync.webhook_payloads import qbo_notifications, xero_notifications
from reverse_sync.webhook_signatures import hmac_sha256_base64, signature_matches

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_a_signature_matches_only_its_key_and_body():
    body = b'{"events":[]}'
    good = hmac_sha256_base64("key", body)
    assert signature_matches("key", body, good)
    assert not signature_matches("key", body + b" ", good)
    assert not signature_matches("other", body, good)
    assert not signature_matches("key", body, None)
    assert not signature_matches("", body, hmac_sha256_base64("", body))


def test_an_intent_to_receive_body_yields_no_notifications():
    body = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X"}
    assert xero_notifications(body, NOW) == []


def test_a_xero_event_names_its_organisation_and_resource():
    event = {
        "resourceId": "i-1",
        "eventCategory": "INVOICE",
        "eventType": "UPDATE",
        "tenantId": "org-1",
        "resourceUrl": "u",
        "eventDateUtc": "d",
        "tenantType": "O",
    }
    [addressed] = xero_notifications({"events": [event]}, NOW)
    assert addressed.external_id == "org-1"
    notification = addressed.notification
    assert (notification.entity, notification.entity_id, notification.operation) == (
        "invoice",
        "i-1",
        "update",
    )


def test_qbo_cloudevents_and_legacy_bodies_read_alike():
    cloud = [{"type": "qbo.payment.created.v1", "intuitentityid": "7", "intuitaccountid": "r1"}]
    legacy = {
        "eventNotifications": [
            {
                "realmId": "r1",
                "dataChangeEvent": {
                    "entities": [{"name": "Payment", "id": "7", "operation": "Create"}]
                },
            }
        ]
    }
    [from_cloud] = qbo_notifications(cloud, NOW)
    [from_legacy] = qbo_notifications(legacy, NOW)
    for addressed in (from_cloud, from_legacy):
        assert addressed.external_id == "r1"
        assert (addressed.notification.entity, addressed.notification.entity_id) == ("payment", "7")
    assert from_cloud.notification.operation == "created"
    assert from_legacy.notification.operation == "create"


def _xero_event(category: str, event_type: str) -> dict:
    return {"resourceId": "r", "eventCategory": category, "eventType": event_type, "tenantId": "t"}


@pytest.mark.parametrize(
    ("category", "event_type", "expected"),
    [
        ("INVOICE", "UPDATE", True),
        ("CREDITNOTE", "UPDATE", True),
        ("CREDITNOTE", "CREATE", True),  # only the API is documented to allocate separately
        ("INVOICE", "CREATE", False),
        ("CONTACT", "UPDATE", False),
        ("SUBSCRIPTION", "UPDATE", False),
    ],
)
def test_which_xero_events_may_mean_a_payment_changed(category, event_type, expected):
    [addressed] = xero_notifications({"events": [_xero_event(category, event_type)]}, NOW)
    assert may_signal_payment(addressed.notification) is expected


@pytest.mark.parametrize(
    ("qbo_type", "expected"),
    [
        ("qbo.payment.created.v1", True),
        ("qbo.refundreceipt.created.v1", True),
        ("qbo.invoice.updated.v1", True),
        ("qbo.customer.updated.v1", True),  # any other QBO change starts a catch-up
        ("qbo.invoice.created.v1", False),
    ],
)
def test_which_qbo_notifications_may_mean_a_payment_changed(qbo_type, expected):
    cloud = [{"type": qbo_type, "intuitentityid": "7", "intuitaccountid": "r1"}]
    legacy_name, legacy_operation = qbo_type.split(".")[1:3]
    [from_cloud] = qbo_notifications(cloud, NOW)
    assert may_signal_payment(from_cloud.notification) is expected
    legacy = {
        "eventNotifications": [
            {
                "realmId": "r1",
                "dataChangeEvent": {
                    "entities": [
                        {"name": legacy_name.title(), "id": "7", "operation": legacy_operation[:-1]}
                    ]
                },
            }
        ]
    }
    [from_legacy] = qbo_notifications(legacy, NOW)
    assert may_signal_payment(from_legacy.notification) is expected


def test_a_body_that_is_neither_shape_is_invalid_input():
    with pytest.raises(InvalidInput):
        qbo_notifications({"something": "else"}, NOW)


def _xero_row(**overrides):
    return {
        "PaymentID": "p-1",
        "Amount": Decimal("40.00"),
        "Date": "/Date(1773100800000+0000)/",
        "UpdatedDateUTC": "/Date(1773144000000+0000)/",
        "Status": "AUTHORISED",
        "PaymentType": "ACCRECPAYMENT",
        "Reference": "",
        "Invoice": {"InvoiceID": "inv-1", "CurrencyCode": "NZD"},
    } | overrides


def test_a_xero_receivable_payment_reads_its_invoice_amount_date_and_change_time():
    seen = xero_ledger_payment(_xero_row())
    assert seen is not None and seen.kind is LedgerPaymentKind.PAYMENT
    assert seen.payment == DestinationPayment(
        Destination.XERO, "p-1", "inv-1", Decimal("40.00"), date(2026, 3, 10), currency="NZD"
    )
    assert seen.updated_at == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert not seen.from_keap


def test_xero_payments_the_forward_sync_wrote_are_recognised_and_payables_ignored():
    assert xero_ledger_payment(_xero_row(Reference="Keap payment 42")).from_keap
    assert xero_ledger_payment(_xero_row(Reference="Keap refund 43 of invoice 9")).from_keap
    assert not xero_ledger_payment(_xero_row(Reference="Cheque from Keap payment")).from_keap
    assert xero_ledger_payment(_xero_row(PaymentType="ACCPAYPAYMENT")) is None


def test_xero_deletions_and_credit_note_refunds_are_told_apart_from_payments():
    assert xero_ledger_payment(_xero_row(Status="DELETED")).kind is LedgerPaymentKind.DELETED
    refund = _xero_row(PaymentType="ARCREDITPAYMENT", CreditNote={"CreditNoteID": "cn-1"})
    del refund["Invoice"]
    assert xero_ledger_payment(refund).kind is LedgerPaymentKind.REFUND


def test_a_qbo_payment_of_two_invoices_reads_as_one_payment_per_invoice():
    row = {
        "Id": "55",
        "TotalAmt": Decimal("30"),
        "TxnDate": "2026-03-10",
        "MetaData": {"LastUpdatedTime": "2026-03-10T04:00:00-08:00"},
        "Line": [
            {"Amount": Decimal("10"), "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]},
            {"Amount": Decimal("20"), "LinkedTxn": [{"TxnId": "2", "TxnType": "Invoice"}]},
            {"Amount": Decimal("5"), "LinkedTxn": [{"TxnId": "9", "TxnType": "CreditMemo"}]},
        ],
    }
    seen = qbo_ledger_payments(row)
    assert [(s.payment.invoice_id, s.payment.amount) for s in seen] == [
        ("1", Decimal("10")),
        ("2", Decimal("20")),
    ]
    assert seen[0].updated_at == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_qbo_refund_receipts_and_deleted_stubs_read_as_such():
    [refund] = qbo_ledger_payments({"Id": "8", "TotalAmt": "12.50"}, "RefundReceipt")
    assert refund.kind is LedgerPaymentKind.REFUND and refund.payment.amount == Decimal("12.50")
    [gone] = qbo_ledger_payments({"Id": "8", "status": "Deleted"})
    assert gone.kind is LedgerPaymentKind.DELETED
    [echo] = qbo_ledger_payments(
        {"Id": "8", "TotalAmt": "1"} | {"PrivateNote": "Keap refund 5"}, "RefundReceipt"
    )
    assert echo.from_keap


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("InvoiceSync: xero payment p-1", True),
        ("InvoiceSync: xero payment p-1 (Bank transfer)", True),
        ("InvoiceSync: xero payment p-12", False),
        ("InvoiceSync: qbo payment p-1", False),
        ("xero payment p-1", False),
    ],
)
def test_a_keap_payment_carries_the_marker_of_exactly_one_ledger_payment(note, expected):
    ledger = DestinationPayment(Destination.XERO, "p-1", "inv-1", Decimal("1"), date(2026, 3, 1))
    keap = KeapPayment(id="k1", amount=Decimal("1"), paid_at=None, note=note)
    assert carries_marker(keap, ledger) is expected


def test_a_requested_qbo_payment_of_two_invoices_is_read_for_the_invoice_named():
    row = {
        "Id": "57",
        "TxnDate": "2026-03-10",
        "Line": [
            {"Amount": "10.00", "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
            {"Amount": "20.00", "LinkedTxn": [{"TxnId": "131", "TxnType": "Invoice"}]},
        ],
    }
    readings = qbo_ledger_payments(row)
    assert [s.payment.invoice_id for s in requested_readings(readings, "")] == ["130", "131"]
    [on_131] = requested_readings(readings, "131")
    assert on_131.payment.amount == Decimal("20.00")
    assert requested_readings(readings, "999") == []
