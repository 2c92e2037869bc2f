"""Ledger numbers: the prefix rule, and whose invoice an existing number names."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_numbers import (
    NumberAction,
    existing_number_decision,
    invoice_number_prefix_problem,
    keap_order_id_in_marker,
    ledger_invoice_number,
    names_the_same_invoice,
    qbo_invoice_marker,
    reissue_number,
    xero_invoice_marker,
)
from invoicesync.domain.payment_to_ledger import LedgerInvoice
from tests.unit.domain.canonical_builders import invoice, product

OURS = invoice(product("100.00"))


@pytest.mark.parametrize(
    "prefix, problem",
    [
        ("", None),
        ("K-", None),
        ("KEAP.2026_", None),
        ("TOO-LONG-PFX", "at most 10 characters"),
        ("K/", "only letters"),
        ("K ", "only letters"),
        ('K"', "only letters"),
        ("Ké", "only letters"),
    ],
)
def test_invoice_number_prefix_rule(prefix, problem):
    found = invoice_number_prefix_problem(prefix)
    assert (found is None) if problem is None else (problem in found)


def test_the_prefix_goes_before_keaps_number():
    assert ledger_invoice_number(" 1042", "K-") == "K-1042"
    assert ledger_invoice_number("1042", "") == "1042"


def existing(note: str, total: str = "100.00") -> LedgerInvoice:
    return LedgerInvoice(
        "led-7", "1042", "AUTHORISED", Decimal(total), Decimal(total), True, note=note
    )


XERO, QBO = Destination.XERO, Destination.QBO
CASES = {
    "qbo, our marker, same total": (QBO, qbo_invoice_marker(OURS), "100.00", NumberAction.ADOPT),
    "qbo, our marker, Keap changed it": (
        QBO,
        qbo_invoice_marker(OURS),
        "90.00",
        NumberAction.REWRITE,
    ),
    "qbo, voided ours": (QBO, "Voided " + qbo_invoice_marker(OURS), "0.00", NumberAction.REWRITE),
    "qbo, the company's own": (QBO, "Raised in QuickBooks", "100.00", NumberAction.CLASH),
    "qbo, ours for another Keap invoice": (
        QBO,
        qbo_invoice_marker(replace(OURS, keap_invoice_id="10420")),
        "100.00",
        NumberAction.CLASH,
    ),
    "xero, our marker": (XERO, xero_invoice_marker(OURS), "100.00", NumberAction.ADOPT),
    "xero, a longer order id is not ours": (
        XERO,
        xero_invoice_marker(OURS) + "7",
        "100.00",
        NumberAction.CLASH,
    ),
    "xero, no reference": (XERO, "", "100.00", NumberAction.CLASH),
}


@pytest.mark.parametrize("destination, note, total, action", CASES.values(), ids=CASES.keys())
def test_existing_number_decision(destination, note, total, action):
    decision = existing_number_decision(destination, OURS, existing(note, total))

    assert decision.action is action
    if action is NumberAction.CLASH:
        assert "number clash" in decision.reason and "invoice 1042 (id led-7" in decision.reason
        assert "prefix" in decision.reason


@pytest.mark.parametrize("destination", [Destination.XERO, Destination.QBO])
def test_the_keap_order_is_read_back_from_the_marker_we_write(destination):
    note = (
        xero_invoice_marker(OURS) if destination is Destination.XERO else qbo_invoice_marker(OURS)
    )

    assert keap_order_id_in_marker(destination, note) == OURS.keap_order_id
    assert keap_order_id_in_marker(destination, "Voided " + note) == OURS.keap_order_id


@pytest.mark.parametrize("note", ["", "PO 4471", "Keap payment 12", "Keap refund 3 of invoice 9"])
@pytest.mark.parametrize("destination", [Destination.XERO, Destination.QBO])
def test_a_note_without_our_marker_names_no_keap_order(destination, note):
    assert keap_order_id_in_marker(destination, note) is None


def test_a_voided_invoice_is_reissued_under_its_number_and_a_counting_suffix():
    assert reissue_number("KP-1001", "KP-1001") == "KP-1001-2"
    assert reissue_number("KP-1001", "KP-1001-2") == "KP-1001-3"
    assert reissue_number("KP-1001", "KP-1001-9") == "KP-1001-10"
    # A prefix that ends in digits is not mistaken for a suffix.
    assert reissue_number("2024-7", "2024-7") == "2024-7-2"
    assert reissue_number("A" * 19, "A" * 19) == "A" * 19 + "-2"  # QBO's 21 characters
    assert reissue_number("A" * 20, "A" * 20) is None


def test_a_reissued_number_still_names_keaps_invoice():
    assert names_the_same_invoice("1001", "KP-1001")
    assert names_the_same_invoice("1001", "KP-1001-2")
    assert not names_the_same_invoice("1001", "KP-1002-2")
