"""Due dates, holding and the skip rules of the seed product."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import (
    CanonicalPayment,
    Destination,
    PaymentKind,
    PaymentPlan,
)
from invoicesync.domain.keap_order import KeapPayment
from invoicesync.domain.keap_to_canonical import canonical_invoice_from_keap_order
from invoicesync.domain.sync_rules import (
    REVERSE_SYNC_NOTE_PREFIX,
    SkipReason,
    due_date_for,
    invoice_skip_decision,
    is_held,
    is_reverse_sync_note,
    payment_skip_decision,
    reverse_sync_note,
    skip_already_synced,
    skip_before_start_point,
    skip_overpayment,
    skip_until_paid,
    skip_zero_total,
)
from invoicesync.domain.tenant_settings import (
    StartPoint,
    StartPointKind,
    SyncSettings,
    TenantSettings,
)
from tests.unit.domain import keap_corpus as corpus

INVOICE_DATE = date(2024, 5, 21)


def _settings(**sync) -> TenantSettings:
    return TenantSettings(Destination.XERO, sync=SyncSettings(**sync))


def _invoice(data=corpus.WIDGET_ORDER, settings=None):
    settings = settings or _settings()
    return canonical_invoice_from_keap_order(corpus.load(data), settings, "t-1")


def _payment(amount: str, kind=PaymentKind.PAYMENT) -> CanonicalPayment:
    return CanonicalPayment("t-1", "1", "456", Decimal(amount), INVOICE_DATE, "Keap", kind)


def test_due_date_is_invoice_date_when_paid_at_creation_even_with_a_plan():
    plan = PaymentPlan(date(2024, 9, 1), 3)

    assert due_date_for(INVOICE_DATE, True, plan, 30) == INVOICE_DATE


def test_due_date_is_the_plans_final_payment_date():
    assert due_date_for(INVOICE_DATE, False, PaymentPlan(date(2024, 9, 1), 3), 30) == date(
        2024, 9, 1
    )


def test_due_date_is_invoice_date_plus_days_otherwise():
    assert due_date_for(INVOICE_DATE, False, None, 30) == date(2024, 6, 20)
    assert due_date_for(INVOICE_DATE, False, None, 0) == INVOICE_DATE


def test_processing_off_holds_work_and_on_releases_it():
    assert is_held(_settings(processing_enabled=False))
    assert not is_held(_settings(processing_enabled=True))


def test_start_point_first_invoice_skips_nothing():
    assert skip_before_start_point(_invoice(), SyncSettings()) is None


@pytest.mark.parametrize(("start_id", "skipped"), [(457, True), (456, False), (100, False)])
def test_start_point_invoice_id_skips_older_invoices(start_id, skipped):
    sync = SyncSettings(start_point=StartPoint(StartPointKind.INVOICE_ID, invoice_id=start_id))

    decision = skip_before_start_point(_invoice(), sync)

    assert (decision is not None) is skipped
    if skipped:
        assert decision.reason == SkipReason.BEFORE_START_POINT


@pytest.mark.parametrize(
    ("on_date", "skipped"),
    [(date(2024, 5, 22), True), (INVOICE_DATE, False), (date(2024, 1, 1), False)],
)
def test_start_point_date_skips_invoices_dated_before_it(on_date, skipped):
    sync = SyncSettings(start_point=StartPoint(StartPointKind.DATE, on_date=on_date))

    assert (skip_before_start_point(_invoice(), sync) is not None) is skipped


def test_zero_total_invoices_are_skipped_only_when_the_option_is_on():
    zero = _invoice(corpus.ZERO_TOTAL_ORDER)

    assert skip_zero_total(zero, SyncSettings()).reason == SkipReason.ZERO_TOTAL
    assert skip_zero_total(zero, SyncSettings(skip_zero_total=False)) is None
    assert skip_zero_total(_invoice(), SyncSettings()) is None


def test_only_when_paid_holds_back_invoices_until_nothing_is_due():
    sync = SyncSettings(only_when_paid=True)
    paid = _invoice(corpus.PAID_AT_CHECKOUT_ORDER)

    assert skip_until_paid(_invoice(corpus.PARTLY_PAID_ORDER), sync).reason == (
        SkipReason.NOT_PAID_YET
    )
    assert skip_until_paid(paid, sync) is None
    assert skip_until_paid(_invoice(corpus.PARTLY_PAID_ORDER), SyncSettings()) is None


def test_only_when_paid_means_nothing_in_invoices_only_mode():
    sync = SyncSettings(sync_payments=False, only_when_paid=True)

    assert skip_until_paid(_invoice(corpus.PARTLY_PAID_ORDER), sync) is None


def test_an_already_synced_invoice_is_unchanged_skipped_or_updated():
    invoice = _invoice()

    assert skip_already_synced(invoice, None, SyncSettings()) is None
    assert skip_already_synced(invoice, invoice.content_hash, SyncSettings()).reason == (
        SkipReason.UNCHANGED
    )
    assert skip_already_synced(invoice, "old", SyncSettings()).reason == SkipReason.ALREADY_SYNCED
    assert skip_already_synced(invoice, "old", SyncSettings(skip_already_synced=False)) is None


def test_orders_from_keaps_quickbooks_sync_are_skipped_first():
    order = corpus.load(corpus.QUICKBOOKS_ORDER)
    invoice = _invoice(corpus.QUICKBOOKS_ORDER)

    decision = invoice_skip_decision(order, invoice, _settings())

    assert decision.reason == SkipReason.QUICKBOOKS_SOURCE
    assert invoice_skip_decision(corpus.load(corpus.WIDGET_ORDER), _invoice(), _settings()) is None


def test_invoice_rules_apply_in_order_start_point_before_zero_total():
    settings = _settings(
        start_point=StartPoint(StartPointKind.DATE, on_date=date(2025, 1, 1)),
    )
    zero = _invoice(corpus.ZERO_TOTAL_ORDER, settings)

    decision = invoice_skip_decision(corpus.load(corpus.ZERO_TOTAL_ORDER), zero, settings)

    assert decision.reason == SkipReason.BEFORE_START_POINT


def test_a_payment_that_would_overpay_is_skipped_when_the_option_is_on():
    sync = SyncSettings()

    assert skip_overpayment(_payment("60"), Decimal(50), sync).reason == SkipReason.OVERPAYMENT
    assert skip_overpayment(_payment("50"), Decimal(50), sync) is None
    off = SyncSettings(skip_overpayments=False)
    assert skip_overpayment(_payment("60"), Decimal(50), off) is None


def test_refunds_never_count_as_overpayments():
    refund = _payment("60", PaymentKind.REFUND)

    assert skip_overpayment(refund, Decimal(0), SyncSettings()) is None


def test_reverse_sync_marks_its_notes_and_recognises_them():
    note = reverse_sync_note("Xero payment 9f3c")

    assert note.startswith(REVERSE_SYNC_NOTE_PREFIX)
    assert is_reverse_sync_note(note)
    assert is_reverse_sync_note("  InvoiceSync: QBO payment 12")
    assert not is_reverse_sync_note("Paid by cheque (InvoiceSync: later)")
    assert not is_reverse_sync_note("")
    assert not is_reverse_sync_note(None)


def _keap_payment(note: str = "") -> KeapPayment:
    return KeapPayment(id="1", amount=Decimal(10), paid_at=None, note=note)


def test_payments_are_skipped_in_invoices_only_mode():
    settings = _settings(sync_payments=False)

    decision = payment_skip_decision(
        _keap_payment(), _payment("10"), Decimal(100), Decimal(0), settings
    )

    assert decision.reason == SkipReason.PAYMENTS_NOT_SYNCED


def test_payments_written_by_reverse_sync_are_not_echoed_back():
    keap_payment = _keap_payment(reverse_sync_note("Xero payment 9f3c"))

    decision = payment_skip_decision(
        keap_payment, _payment("10"), Decimal(100), Decimal(0), _settings()
    )

    assert decision.reason == SkipReason.REVERSE_SYNC_ECHO


def test_an_ordinary_payment_within_the_balance_is_not_skipped():
    ordinary = dataclasses.replace(_keap_payment(), note="Monthly payment")

    assert (
        payment_skip_decision(ordinary, _payment("10"), Decimal(100), Decimal(0), _settings())
        is None
    )
