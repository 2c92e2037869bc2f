"""Whether ReverseSync records a ledger payment in Keap, and how much: one table, no servers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.domain.keap_order import KeapContact, KeapOrder, KeapPayment
from invoicesync.domain.ledger_to_keap import (
    DestinationPayment,
    KeapRecordingAction,
    keap_payment_from_ledger,
    keap_recording_decision,
)
from invoicesync.domain.sync_rules import reverse_sync_note
from invoicesync.domain.tenant_settings import KeapSettings

SETTINGS = KeapSettings(manual_payment_type="Check")
LEDGER_PAYMENT = DestinationPayment(
    destination=Destination.XERO,
    payment_id="9f3c-pay",
    invoice_id="inv-uuid",
    amount=Decimal("50.00"),
    payment_date=date(2026, 5, 7),
)
MANUAL = keap_payment_from_ledger(LEDGER_PAYMENT, SETTINGS)
OVER_BALANCE = "XERO payment 9f3c-pay of 50.00 exceeds the Keap order balance {}; {} was not "


def order(total: str | None = "100.00", paid: str = "0.00") -> KeapOrder:
    return KeapOrder(
        id="77",
        contact=KeapContact(id="5"),
        items=(),
        total=None if total is None else Decimal(total),
        total_paid=Decimal(paid),
    )


def keap_payment(note: str, payment_id: str = "k-1") -> KeapPayment:
    return KeapPayment(payment_id, Decimal("50.00"), None, note=note)


OURS = keap_payment(reverse_sync_note("xero payment 9f3c-pay"), "k-9")
SOMEONE_ELSES = keap_payment(reverse_sync_note("xero payment 9f3c-pay-2"))
A_CARD_PAYMENT = keap_payment("paid by card")

CASES = {
    "the Keap invoice is gone": (
        None,
        [],
        (KeapRecordingAction.EXCEPTION, None, "Keap invoice 1042 no longer exists"),
    ),
    "Keap already lists it": (
        order(),
        [A_CARD_PAYMENT, OURS],
        (KeapRecordingAction.ALREADY_RECORDED, None, ""),
    ),
    "another ledger payment's note is not ours": (
        order(),
        [SOMEONE_ELSES, A_CARD_PAYMENT],
        (KeapRecordingAction.RECORD, MANUAL, ""),
    ),
    "within the balance: record it whole": (
        order("100.00", "50.00"),
        [],
        (KeapRecordingAction.RECORD, MANUAL, ""),
    ),
    "no total from Keap: record it whole": (
        order(None),
        [],
        (KeapRecordingAction.RECORD, MANUAL, ""),
    ),
    "above the balance: record what fits, the rest is an exception": (
        order("100.00", "70.00"),
        [],
        (
            KeapRecordingAction.RECORD,
            replace(MANUAL, payment_amount=Decimal("30.00")),
            OVER_BALANCE.format("30.00", "20.00") + "recorded in Keap.",
        ),
    ),
    "the order is paid up: all of it is an exception": (
        order("100.00", "100.00"),
        [],
        (
            KeapRecordingAction.EXCEPTION,
            None,
            OVER_BALANCE.format("0.00", "50.00") + "recorded in Keap.",
        ),
    ),
}


@pytest.mark.parametrize(("keap_order", "listed", "expected"), CASES.values(), ids=CASES.keys())
def test_keap_recording_decision(keap_order, listed, expected):
    decision = keap_recording_decision(LEDGER_PAYMENT, "1042", keap_order, listed, SETTINGS)

    assert (decision.action, decision.payment, decision.exception) == expected


def test_an_already_recorded_payment_names_the_keap_payment_found():
    decision = keap_recording_decision(LEDGER_PAYMENT, "1042", order(), [OURS], SETTINGS)

    assert decision.keap_payment_id == "k-9"
