"""Reconciliation: Keap's invoices and payments beside the ledger's, in four groups."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from invoicesync.domain.canonical import CanonicalInvoice, LineKind
from invoicesync.domain.reconciliation import (
    FieldDifference,
    Group,
    LastWord,
    LedgerInvoice,
    LedgerLine,
    LedgerPayment,
    ReportRow,
    orders_to_resync,
    reconcile,
)
from tests.unit.domain.canonical_builders import (
    DUE_DATE,
    INVOICE_DATE,
    charge,
    invoice,
    payment,
    product,
)


def keap_invoice(number: str, order_id: str, *amounts: str, currency: str = "USD"):
    lines = [
        product(amount, description=f"Item {i}", taxable=True) for i, amount in enumerate(amounts)
    ]
    made = invoice(*lines, charge(LineKind.TAX, "1.00"), invoice_number=number, currency=currency)
    return dataclasses.replace(made, keap_invoice_id=f"inv-{order_id}", keap_order_id=order_id)


def ledger_copy(source: CanonicalInvoice, ledger_id: str = "", **changes) -> LedgerInvoice:
    """The ledger invoice a faithful write of `source` shows."""
    doc = LedgerInvoice(
        ledger_id=ledger_id or f"X-{source.keap_order_id}",
        number=source.invoice_number,
        status="AUTHORISED",
        currency=source.currency,
        total=source.totals.total,
        tax=source.totals.tax,
        amount_due=source.totals.due,
        invoice_date=source.invoice_date,
        due_date=source.due_date,
        contact=source.contact.name,
        lines=tuple(
            LedgerLine(line.description, line.line_amount)
            for line in source.lines
            if line.kind is not LineKind.TAX
        ),
        keap_order_id=source.keap_order_id,
    )
    return dataclasses.replace(doc, **changes)


def test_a_faithful_copy_is_matched_and_the_report_is_all_matched() -> None:
    source = keap_invoice("1001", "11", "10.00", "5.50")
    report = reconcile([source], [], [ledger_copy(source)], [])
    assert [row.group for row in report.rows] == [Group.MATCHED]
    assert report.all_matched
    assert report.to_resync() == []


def test_an_edited_total_is_different_and_names_both_values() -> None:
    source = keap_invoice("1001", "11", "10.00")
    edited = ledger_copy(
        source,
        total=Decimal("99.00"),
        amount_due=Decimal("99.00"),
        lines=(LedgerLine("Item 0", Decimal("98.00")),),
    )
    report = reconcile([source], [], [edited], [])
    (row,) = report.rows
    assert row.group is Group.DIFFERENT
    assert row.differences == (
        FieldDifference("total", "11.00", "99.00"),
        FieldDifference("amount_due", "11.00", "99.00"),
        FieldDifference("lines", "10.00", "98.00"),
    )
    assert report.to_resync() == [row]


def test_tax_dates_and_contact_differences_are_named() -> None:
    source = keap_invoice("1001", "11", "10.00")
    edited = ledger_copy(
        source,
        tax=Decimal("0.00"),
        invoice_date=date(2026, 4, 30),
        due_date=None,
        contact="Someone Else",
    )
    (row,) = reconcile([source], [], [edited], []).rows
    assert [d.name for d in row.differences] == ["tax", "date", "due_date", "contact"]
    assert row.differences[1] == FieldDifference("date", INVOICE_DATE.isoformat(), "2026-04-30")
    assert row.differences[2] == FieldDifference("due_date", DUE_DATE.isoformat(), "")


def test_a_disambiguated_contact_name_is_the_same_contact() -> None:
    source = keap_invoice("1001", "11", "10.00")
    doc = ledger_copy(source, contact=f"{source.contact.name} (jane@example.com)")
    assert reconcile([source], [], [doc], []).all_matched


def test_a_deleted_or_voided_ledger_invoice_is_missing_with_the_last_word() -> None:
    kept, deleted, never = (
        keap_invoice("1001", "11", "10.00"),
        keap_invoice("1002", "12", "20.00"),
        keap_invoice("1003", "13", "0.00"),
    )
    words = {"invoice:inv-13": LastWord("skipped", "zero total")}
    report = reconcile(
        [kept, deleted, never],
        [],
        [ledger_copy(kept), ledger_copy(deleted, status="DELETED")],
        [],
        words,
    )
    missing = report.in_group(Group.MISSING_IN_LEDGER)
    assert [(row.number, row.last_word) for row in missing] == [
        ("1002", None),
        ("1003", LastWord("skipped", "zero total")),
    ]
    assert {row.keap_id for row in report.to_resync()} == {"inv-12", "inv-13"}


def test_our_ledger_invoice_without_a_keap_invoice_is_ledger_only_and_not_resynced() -> None:
    gone = keap_invoice("1009", "19", "40.00")
    foreign = dataclasses.replace(
        ledger_copy(gone, ledger_id="X-own"), number="7", keap_order_id=None
    )
    report = reconcile([], [], [ledger_copy(gone), foreign], [])
    (row,) = report.rows
    assert (row.group, row.number, row.keap_order_id) == (Group.LEDGER_ONLY, "1009", "19")
    assert row.ledger_amount == Decimal("41.00") and row.keap_amount is None
    assert report.to_resync() == []


def test_an_invoice_is_paired_by_our_marker_when_the_number_was_changed() -> None:
    source = keap_invoice("1001", "11", "10.00")
    report = reconcile([source], [], [ledger_copy(source, number="INV-0001")], [])
    assert report.all_matched


def test_payments_pair_by_the_id_map_and_a_stray_ledger_payment_is_ledger_only() -> None:
    paid = dataclasses.replace(payment("11.00", payment_id="p1"), invoice_number="1001")
    changed = dataclasses.replace(payment("5.00", payment_id="p2"), invoice_number="1001")
    unsent = dataclasses.replace(payment("3.00", payment_id="p3"), invoice_number="1001")
    ledger = [
        LedgerPayment(
            "LP1", "1001", "USD", Decimal("11.00"), paid.payment_date, "AUTHORISED", "p1"
        ),
        LedgerPayment("LP2", "1001", "USD", Decimal("4.00"), paid.payment_date, "AUTHORISED", "p2"),
        LedgerPayment("LP9", "1001", "USD", Decimal("2.50"), paid.payment_date, "AUTHORISED"),
        LedgerPayment("LP8", "1001", "USD", Decimal("1.00"), paid.payment_date, "DELETED", "p3"),
    ]
    words = {"payment:p3": LastWord("held", "invoice not written yet")}
    report = reconcile([], [paid, changed, unsent], [], ledger, words)
    assert [(r.kind, r.group, r.keap_id, r.ledger_id) for r in report.rows] == [
        ("payment", Group.MATCHED, "p1", "LP1"),
        ("payment", Group.DIFFERENT, "p2", "LP2"),
        ("payment", Group.MISSING_IN_LEDGER, "p3", ""),
        ("payment", Group.LEDGER_ONLY, "", "LP9"),
    ]
    assert report.rows[1].differences == (FieldDifference("amount", "5.00", "4.00"),)
    assert report.rows[2].last_word == LastWord("held", "invoice not written yet")


def test_a_prefixed_ledger_number_still_names_the_paid_invoice() -> None:
    paid = dataclasses.replace(payment("11.00", payment_id="p1"), invoice_number="1001")
    ledger = LedgerPayment("LP1", "KS-1001", "USD", Decimal("11.00"), paid.payment_date, "", "p1")
    assert reconcile([], [paid], [], [ledger]).all_matched


def test_totals_are_per_group_and_per_currency() -> None:
    usd_a, usd_b = keap_invoice("1", "1", "10.00"), keap_invoice("2", "2", "20.00")
    eur = keap_invoice("3", "3", "30.00", currency="EUR")
    report = reconcile(
        [usd_a, usd_b, eur],
        [],
        [ledger_copy(usd_a), ledger_copy(eur, total=Decimal("1.00"))],
        [],
    )
    summary = [
        (t.group, t.currency, t.count, t.keap_amount, t.ledger_amount) for t in report.totals
    ]
    assert summary == [
        (Group.MATCHED, "USD", 1, Decimal("11.00"), Decimal("11.00")),
        (Group.DIFFERENT, "EUR", 1, Decimal("31.00"), Decimal("1.00")),
        (Group.MISSING_IN_LEDGER, "USD", 1, Decimal("21.00"), Decimal("0")),
    ]
    assert all(isinstance(t.keap_amount, Decimal) for t in report.totals)


def test_resync_names_the_orders_of_missing_and_different_rows_once() -> None:
    edited, deleted = keap_invoice("1", "11", "10.00"), keap_invoice("2", "12", "20.00")
    unpaid = dataclasses.replace(
        payment("3.00", payment_id="p1"), keap_invoice_id="inv-12", invoice_number="2"
    )
    report = reconcile([edited, deleted], [unpaid], [ledger_copy(edited, tax=Decimal("0.00"))], [])
    assert orders_to_resync(report) == ["11", "12"]


def test_untaxed_keap_tax_posted_as_a_plain_line_and_a_rounding_line_are_no_difference() -> None:
    untaxed = keap_invoice("1001", "11", "10.00")
    untaxed = dataclasses.replace(
        untaxed, lines=tuple(dataclasses.replace(line, taxable=False) for line in untaxed.lines)
    )
    doc = ledger_copy(
        untaxed,
        tax=Decimal("0.00"),
        lines=(
            LedgerLine("Item 0", Decimal("10.00")),
            LedgerLine("Sales tax", Decimal("1.00")),
            LedgerLine("Rounding", Decimal("0.01")),
        ),
    )
    assert reconcile([untaxed], [], [doc], []).all_matched


def test_a_difference_in_the_amount_due_alone_is_not_a_content_difference() -> None:
    def row(*names: str) -> ReportRow:
        differences = tuple(FieldDifference(name, "1.00", "2.00") for name in names)
        return ReportRow(
            Group.DIFFERENT, "invoice", "1", "1", "USD", None, None, differences=differences
        )

    assert not row("amount_due").content_differs
    assert row("amount_due", "total").content_differs
    assert row("lines").content_differs


def test_a_payment_reverse_sync_recorded_in_keap_pairs_with_the_ledger_payment_it_names() -> None:
    """A bookkeeper's ledger payment, recorded in Keap by ReverseSync: the id map knows only
    what Keap sent, the Keap payment's note names the ledger payment."""
    recorded = dataclasses.replace(payment("40.00", payment_id="k7"), invoice_number="1001")
    ledger = LedgerPayment("LP7", "1001", "USD", Decimal("40.00"), recorded.payment_date)

    unnamed = reconcile([], [recorded], [], [ledger])
    assert [r.group for r in unnamed.rows] == [Group.MISSING_IN_LEDGER, Group.LEDGER_ONLY]

    report = reconcile([], [recorded], [], [ledger], recorded_from={"k7": "LP7"})
    assert [(r.group, r.keap_id, r.ledger_id) for r in report.rows] == [
        (Group.MATCHED, "k7", "LP7")
    ]
    assert report.all_matched and report.to_resync() == []


def test_a_reverse_synced_payment_is_compared_like_any_other_pair() -> None:
    # Keap took only what fitted the order's balance: the amounts differ, both shown.
    capped = dataclasses.replace(payment("30.00", payment_id="k7"), invoice_number="1001")
    ledger = LedgerPayment("LP7", "KS-1001", "USD", Decimal("50.00"), capped.payment_date)
    [row] = reconcile([], [capped], [], [ledger], recorded_from={"k7": "LP7"}).rows
    assert row.group is Group.DIFFERENT and row.ledger_id == "LP7"
    assert row.differences == (FieldDifference("amount", "30.00", "50.00"),)


def test_a_reverse_synced_payment_whose_ledger_payment_is_gone_stays_missing() -> None:
    recorded = dataclasses.replace(payment("40.00", payment_id="k7"), invoice_number="1001")
    deleted = LedgerPayment(
        "LP7", "1001", "USD", Decimal("40.00"), recorded.payment_date, "DELETED"
    )
    report = reconcile([], [recorded], [], [deleted], recorded_from={"k7": "LP7"})
    assert [(r.group, r.keap_id) for r in report.rows] == [(Group.MISSING_IN_LEDGER, "k7")]


def test_one_qbo_payment_of_two_invoices_pairs_each_keap_payment_with_its_invoice_row() -> None:
    """QBO reads one row per invoice a payment pays; ReverseSync recorded one Keap payment on
    each invoice's order, both naming the same QBO payment."""
    day = payment().payment_date
    on_second = dataclasses.replace(payment("20.00", payment_id="k2"), invoice_number="1002")
    on_first = dataclasses.replace(payment("10.00", payment_id="k1"), invoice_number="1001")
    ledger = [
        LedgerPayment("57", "1001", "USD", Decimal("10.00"), day),
        LedgerPayment("57", "1002", "USD", Decimal("20.00"), day),
    ]
    report = reconcile(
        [], [on_second, on_first], [], ledger, recorded_from={"k1": "57", "k2": "57"}
    )
    assert [(r.group, r.keap_id, r.number) for r in report.rows] == [
        (Group.MATCHED, "k2", "1002"),
        (Group.MATCHED, "k1", "1001"),
    ]

    # Only one of them recorded in Keap: the other invoice's share stays ledger-only.
    report = reconcile([], [on_first], [], ledger, recorded_from={"k1": "57"})
    assert [(r.group, r.number) for r in report.rows] == [
        (Group.MATCHED, "1001"),
        (Group.LEDGER_ONLY, "1002"),
    ]
