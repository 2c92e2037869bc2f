"""A reconciliation job's stored Keap payment rows keep which ledger payment ReverseSync
recorded each from, read back per ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from admin.reconciliation_rows import payment_from_row, payment_rows, recorded_from_rows
from invoicesync.domain.canonical import CanonicalPayment, Destination
from invoicesync.domain.keap_order import KeapPayment


def canonical(keap_id: str) -> CanonicalPayment:
    return CanonicalPayment("t1", keap_id, "inv-1", Decimal("5.00"), date(2026, 3, 10), "Check")


def test_rows_name_the_ledger_payment_a_reverse_synced_keap_payment_came_from() -> None:
    read = [
        KeapPayment("k1", Decimal("5"), None, note="InvoiceSync: xero payment 9f3c-1 (Check)"),
        KeapPayment("k2", Decimal("5"), None, note="paid by phone"),
        KeapPayment("k3", Decimal("5"), None, note="InvoiceSync: qbo payment 57"),
    ]
    rows = payment_rows([canonical("k1"), canonical("k2"), canonical("k3")], read)

    assert recorded_from_rows(rows, Destination.XERO) == {"k1": "9f3c-1"}
    assert recorded_from_rows(rows, Destination.QBO) == {"k3": "57"}
    assert payment_from_row(rows[0]).keap_payment_id == "k1"


def test_rows_stored_before_the_origin_was_kept_name_none() -> None:
    [row] = payment_rows([canonical("k1")], [])
    del row["recorded_from"]
    assert recorded_from_rows([row], Destination.XERO) == {}
