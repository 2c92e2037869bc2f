"""Pure Xero rules of the stand-in: rounding, statuses, payments, allocations, names, where."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from invoicesync_sandbox.xero import (
    allocation_rules,
    balances,
    contact_rules,
    invoice_status,
    payment_rules,
)
from invoicesync_sandbox.xero.contract import accounting_contract
from invoicesync_sandbox.xero.totals import LineInput, document_totals, line_tax
from invoicesync_sandbox.xero.where import QueryParseError, compile_where

D = Decimal


def test_inclusive_tax_is_rounded_per_line_as_in_xeros_worked_example():
    assert line_tax(D("177.00"), D("12.5"), "Inclusive") == D("19.67")
    assert line_tax(D("-79.00"), D("12.5"), "Inclusive") == D("-8.78")


def test_tax_is_summed_from_rounded_lines_not_taken_on_the_subtotal():
    lines = [LineInput(D(1), D("25.43"), tax_rate_percent=D(15))] * 3
    totals = document_totals(lines, "Exclusive")
    assert totals.total_tax == D("11.43")  # 3 x 3.81; the subtotal would give 11.44
    assert totals.total == D("87.72")


def test_unit_amount_keeps_four_places_only_with_unitdp_4():
    line = LineInput(D(2), D("19.995"), discount_rate=D(10))
    assert document_totals([line], "NoTax", unitdp=2).sub_total == D("36.00")
    assert document_totals([line], "NoTax", unitdp=4).sub_total == D("35.99")


def test_inclusive_subtotal_excludes_the_tax_inside_the_line_amounts():
    totals = document_totals([LineInput(D(1), D("115.00"), tax_rate_percent=D(15))], "Inclusive")
    assert (totals.sub_total, totals.total_tax, totals.total) == (
        D("100.00"),
        D("15.00"),
        D("115.00"),
    )


def test_authorised_invoice_can_be_voided_but_not_returned_to_draft():
    assert invoice_status.status_change_error("AUTHORISED", "VOIDED", has_allocations=False) is None
    assert invoice_status.status_change_error("AUTHORISED", "DRAFT", has_allocations=False) == (
        "Invoice not of valid status for modification"
    )


def test_paid_invoice_lines_are_frozen_but_reference_is_not():
    assert invoice_status.edit_error("PAID", {"LineItems"}, has_allocations=True) == (
        invoice_status.ALLOCATED
    )
    assert invoice_status.edit_error("PAID", {"Reference"}, has_allocations=True) is None


def test_payment_rules_reject_overpayment_and_unapproved_documents():
    kwargs = {"account_type": "BANK", "account_payments_enabled": False}
    assert payment_rules.payment_error("AUTHORISED", D("10.01"), D("10.00"), **kwargs) == (
        payment_rules.EXCEEDS_OUTSTANDING
    )
    assert payment_rules.payment_error("DRAFT", D("1"), D("10"), **kwargs) == (
        payment_rules.NOT_AUTHORISED
    )
    assert payment_rules.payment_error("AUTHORISED", D("10"), D("10"), **kwargs) is None


def test_contact_names_collide_without_case_or_accents():
    message = contact_rules.contact_name_error("jose smith", [("1", "José Smith")])
    assert message is not None and "already assigned to another contact" in message
    assert contact_rules.contact_name_error("Jose Smith", [("1", "José Smith")], own_id="1") is None


def test_where_filters_case_insensitively_and_refuses_unbalanced_quotes():
    predicate = compile_where(
        'Status=="authorised" AND Type=="ACCREC"', frozenset({"Status", "Type"}), "Invoice"
    )
    assert predicate({"Status": "AUTHORISED", "Type": "ACCREC"})
    assert not predicate({"Status": "DRAFT", "Type": "ACCREC"})
    with pytest.raises(QueryParseError, match="Unterminated string literal"):
        compile_where('Name=="Bob', frozenset({"Name"}), "Contact")


def test_contract_names_the_offending_body_element():
    problem = accounting_contract().check(
        "PUT", "/api.xro/2.0/Invoices", {}, {}, b'{"Invoices":[{"LineItems":[{"Quantity":"x"}]}]}'
    )
    assert problem.element == "Invoices[0].LineItems[0].Quantity"


def _document(doc_type, status, contact="c1", **amounts):
    return {"Type": doc_type, "Status": status, "Contact": {"ContactID": contact}} | amounts


def test_allocation_lists_every_reason_it_is_refused():
    credit_note = _document("ACCPAYCREDIT", "DRAFT", RemainingCredit=D("5.00"))
    invoice = _document("ACCREC", "PAID", contact="c2", AmountDue=D("0.00"))
    assert allocation_rules.allocation_errors(credit_note, invoice, D("6")) == [
        allocation_rules.CREDIT_NOTE_NOT_AUTHORISED,
        allocation_rules.INVOICE_PAID_OFF,
        allocation_rules.WRONG_INVOICE_TYPE,
        allocation_rules.OTHER_CONTACT,
        allocation_rules.EXCEEDS_OUTSTANDING,
    ]


def test_allocation_is_bounded_by_both_remaining_credit_and_amount_due():
    credit_note = _document("ACCRECCREDIT", "AUTHORISED", RemainingCredit=D("50.00"))
    invoice = _document("ACCREC", "AUTHORISED", AmountDue=D("20.00"))
    assert allocation_rules.allocation_errors(credit_note, invoice, D("20.00")) == []
    assert allocation_rules.allocation_errors(credit_note, invoice, D("20.01")) == [
        allocation_rules.EXCEEDS_OUTSTANDING
    ]


def test_credit_allocated_invoice_keeps_reference_editable_but_not_its_contact():
    assert invoice_status.edit_error("AUTHORISED", {"Reference"}, has_allocations=True) is None
    assert invoice_status.edit_error("AUTHORISED", {"Contact"}, has_allocations=True) is None
    assert invoice_status.edit_error(
        "AUTHORISED", {"Contact"}, has_allocations=True, credited=True
    ) == (invoice_status.ALLOCATED)


def test_deleting_a_paid_document_payment_reopens_it():
    invoice = _document("ACCREC", "AUTHORISED", AmountDue=D("10.00"), AmountPaid=D("0.00"))
    now = datetime(2026, 5, 1, tzinfo=UTC)
    balances.settle(invoice, D("10.00"), now.date(), now, via="AmountPaid")
    assert (invoice["Status"], invoice["AmountDue"], invoice["AmountPaid"]) == (
        "PAID",
        D("0.00"),
        D("10.00"),
    )
    balances.unsettle(invoice, D("10.00"), now, via="AmountPaid")
    assert (invoice["Status"], invoice["AmountDue"]) == ("AUTHORISED", D("10.00"))
    assert "FullyPaidOnDate" not in invoice


def test_payment_can_only_be_set_to_deleted_and_only_once():
    assert payment_rules.deletion_error("AUTHORISED", "DELETED") is None
    assert payment_rules.deletion_error("DELETED", "DELETED") == payment_rules.ALREADY_DELETED
    assert payment_rules.deletion_error("AUTHORISED", "AUTHORISED") == payment_rules.ONLY_DELETION
