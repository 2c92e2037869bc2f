"""Pure Xero rules of the stand-in: rounding, status machine, payments, contact names, where."""

from decimal import Decimal

import pytest

from invoicesync_sandbox.xero import contact_rules, invoice_status, payment_rules
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
