"""Keap payments → canonical payments and refunds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoicesync.domain.canonical import Destination, PaymentKind
from invoicesync.domain.keap_to_canonical import canonical_payments_from_keap
from invoicesync.domain.tenant_settings import TenantSettings
from tests.unit.domain import keap_corpus as corpus

SETTINGS = TenantSettings(Destination.QBO)


def _payments(order_data, rows):
    order = corpus.load(order_data)
    return canonical_payments_from_keap(order, corpus.load_payments(rows), SETTINGS, "tenant-1")


def test_settled_payments_and_refunds_are_kept_oldest_first_and_failed_ones_dropped():
    payments = _payments(corpus.PARTLY_PAID_ORDER, corpus.PARTLY_PAID_PAYMENTS)

    assert [(p.keap_payment_id, p.kind, p.amount, p.payment_date) for p in payments] == [
        ("601", PaymentKind.PAYMENT, Decimal("50.00"), date(2024, 5, 25)),
        ("602", PaymentKind.PAYMENT, Decimal("70.00"), date(2024, 6, 1)),
        ("603", PaymentKind.REFUND, Decimal("20.00"), date(2024, 6, 3)),
    ]


def test_payments_carry_tenant_invoice_currency_method_and_hash():
    payment = _payments(corpus.AUD_ORDER, [corpus.order_payment("1", 109.99)])[0]

    assert (payment.tenant_id, payment.keap_invoice_id) == ("tenant-1", "456")
    assert (payment.currency, payment.amount, payment.method) == ("AUD", Decimal("109.99"), "Keap")
    assert len(payment.content_hash) == 64


def test_a_refunded_row_with_a_positive_amount_is_a_refund_of_that_amount():
    payments = _payments(
        corpus.PARTLY_PAID_ORDER, [corpus.order_payment("7", 30, pay_status="REFUNDED")]
    )

    assert [(p.kind, p.amount) for p in payments] == [(PaymentKind.REFUND, Decimal("30.00"))]


def test_rows_of_another_invoice_and_rows_of_zero_are_left_out():
    rows = [
        corpus.order_payment("1", 10, invoice_id="999"),
        corpus.order_payment("2", 0),
        corpus.order_payment("3", 10),
    ]

    assert [p.keap_payment_id for p in _payments(corpus.PARTLY_PAID_ORDER, rows)] == ["3"]


def test_yen_payments_are_whole_yen():
    payment = _payments(corpus.JPY_ORDER, [corpus.order_payment("1", 3500)])[0]

    assert (payment.currency, payment.amount) == ("JPY", Decimal("3500"))


def test_payment_hash_is_stable_and_changes_with_the_amount():
    first = _payments(corpus.PARTLY_PAID_ORDER, [corpus.order_payment("1", 10)])[0]
    again = _payments(corpus.PARTLY_PAID_ORDER, [corpus.order_payment("1", 10.0)])[0]
    edited = _payments(corpus.PARTLY_PAID_ORDER, [corpus.order_payment("1", 11)])[0]

    assert first.content_hash == again.content_hash
    assert first.content_hash != edited.content_hash
