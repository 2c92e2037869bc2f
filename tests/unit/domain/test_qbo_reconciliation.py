"""QBO Invoices and Payments, as the query endpoint returns them, read as the reconciliation's
ledger documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoicesync.domain.qbo_reconciliation import (
    ledger_invoice_from_qbo,
    ledger_payments_from_qbo,
    payment_ids_linked_to,
)
from invoicesync.domain.reconciliation import GONE_STATUSES, LedgerLine

D = Decimal
MARKER = "Keap invoice 5001, order 4001"


def qbo_invoice(**changes) -> dict:
    row = {
        "Id": "130",
        "DocNumber": "INV-5001",
        "TxnDate": "2026-06-03",
        "DueDate": "2026-07-03",
        "CustomerRef": {"value": "58", "name": "Ada Lovelace"},
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "PrivateNote": MARKER,
        "TotalAmt": D("32.4"),
        "Balance": D("12"),
        "TxnTaxDetail": {"TotalTax": D("2.4"), "TaxLine": []},
        "LinkedTxn": [{"TxnId": "77", "TxnType": "Payment"}, {"TxnId": "9", "TxnType": "Estimate"}],
        "Line": [
            {
                "Id": "1",
                "DetailType": "SalesItemLineDetail",
                "Amount": D("25"),
                "Description": "Coaching",
                "SalesItemLineDetail": {"Qty": 1, "UnitPrice": 25},
            },
            {
                "Id": "2",
                "DetailType": "SalesItemLineDetail",
                "Amount": D("10.00"),
                "SalesItemLineDetail": {"Qty": 2, "UnitPrice": 5},
            },
            {"DetailType": "DescriptionOnly", "Description": "thanks", "DescriptionLineDetail": {}},
            {
                "Id": "3",
                "DetailType": "DiscountLineDetail",
                "Amount": D("5"),
                "DiscountLineDetail": {"PercentBased": False},
            },
            {"DetailType": "SubTotalLineDetail", "Amount": D("35"), "SubTotalLineDetail": {}},
        ],
    }
    return row | changes


def test_an_invoice_reads_to_the_cent_with_its_marker_and_sale_lines_only():
    doc = ledger_invoice_from_qbo(qbo_invoice())
    assert (doc.ledger_id, doc.number, doc.currency, doc.contact) == (
        "130",
        "INV-5001",
        "USD",
        "Ada Lovelace",
    )
    assert (doc.total, doc.tax, doc.amount_due) == (D("32.40"), D("2.40"), D("12.00"))
    assert str(doc.total) == "32.40"
    assert (doc.invoice_date, doc.due_date) == (date(2026, 6, 3), date(2026, 7, 3))
    assert doc.keap_order_id == "4001"
    assert doc.status == "OPEN"
    # Item lines and the discount (negative, as Keap writes it); no subtotal, no description.
    assert doc.lines == (
        LedgerLine("Coaching", D("25.00")),
        LedgerLine("", D("10.00")),
        LedgerLine("", D("-5.00")),
    )


def test_a_voided_invoice_is_gone_and_still_ours():
    doc = ledger_invoice_from_qbo(
        qbo_invoice(PrivateNote=f"Voided - {MARKER}", TotalAmt=0, Balance=0)
    )
    assert doc.status in GONE_STATUSES
    assert doc.keap_order_id == "4001"


def test_a_company_invoice_without_our_marker_and_without_optional_fields():
    doc = ledger_invoice_from_qbo(
        {"Id": "7", "TxnDate": "2026-06-01", "TotalAmt": 10, "Balance": 0, "Line": []}
    )
    assert doc.keap_order_id is None
    assert (doc.tax, doc.due_date, doc.number, doc.contact, doc.status) == (
        D("0.00"),
        None,
        "",
        "",
        "PAID",
    )


def test_linked_payment_ids_are_the_payment_links_only():
    assert payment_ids_linked_to(qbo_invoice()) == ["77"]
    assert payment_ids_linked_to(qbo_invoice(LinkedTxn=[])) == []


def test_a_payment_counts_only_its_lines_applied_to_the_invoices_read():
    invoice = ledger_invoice_from_qbo(qbo_invoice())
    payment = {
        "Id": "77",
        "TxnDate": "2026-06-10",
        "TotalAmt": D("50"),
        "UnappliedAmt": D("10"),
        "CurrencyRef": {"value": "USD"},
        "Line": [
            {"Amount": D("20.4"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
            {"Amount": D("19.6"), "LinkedTxn": [{"TxnId": "999", "TxnType": "Invoice"}]},
        ],
    }
    [applied] = ledger_payments_from_qbo(payment, {"130": invoice}, "pay-1")
    assert (applied.ledger_id, applied.invoice_number, applied.currency) == (
        "77",
        "INV-5001",
        "USD",
    )
    assert (applied.amount, applied.payment_date) == (D("20.40"), date(2026, 6, 10))
    assert applied.keap_payment_id == "pay-1" and applied.status == ""


def test_a_voided_payment_is_gone():
    invoice = ledger_invoice_from_qbo(qbo_invoice())
    payment = {
        "Id": "78",
        "TxnDate": "2026-06-10",
        "PrivateNote": "Voided",
        "Line": [{"Amount": 0, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}],
    }
    [applied] = ledger_payments_from_qbo(payment, {"130": invoice}, None)
    assert applied.status in GONE_STATUSES and applied.currency == "USD"
