"""Credit note allocations: apply credit to an AUTHORISED invoice of the same contact, or undo."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import Response, g, jsonify

from invoicesync_sandbox.xero import allocation_rules, balances, errors, events
from invoicesync_sandbox.xero.batch import ElementResult, batch_response, summarize_errors_requested
from invoicesync_sandbox.xero.credit_notes_routes import find_credit_note
from invoicesync_sandbox.xero.documents import _parse_date
from invoicesync_sandbox.xero.gate import accounting, xero_state
from invoicesync_sandbox.xero.invoices_routes import find_invoice
from invoicesync_sandbox.xero.store import Books
from invoicesync_sandbox.xero.wire import ms_date, plain

INVOICE_NOT_FOUND = "Invoice could not be found"


def _allocate(credit_note: dict, element: dict) -> ElementResult:
    books: Books = g.books
    target = element.get("Invoice") or {}
    ref = target.get("InvoiceID") or target.get("InvoiceNumber")
    invoice = find_invoice(books, str(ref)) if ref else None
    if invoice is None:
        return ElementResult(dict(element), [INVOICE_NOT_FOUND])
    amount = Decimal(str(element["Amount"]))
    messages = allocation_rules.allocation_errors(credit_note, invoice, amount)
    if messages:
        return ElementResult(dict(element), messages)
    applied_on = _parse_date(element.get("Date"), g.now.date())
    allocation_id = str(uuid.uuid4())
    balances.settle(invoice, amount, applied_on, g.now, via="AmountCredited")
    balances.settle(credit_note, amount, applied_on, g.now, via="AmountCredited")
    invoice_ref = {k: invoice[k] for k in ("InvoiceID", "InvoiceNumber")}
    credit_note_ref = {k: credit_note[k] for k in ("CreditNoteID", "CreditNoteNumber")}
    credit_note["Allocations"].append(
        {
            "AllocationID": allocation_id,
            "Amount": amount,
            "Date": ms_date(applied_on),
            "Invoice": invoice_ref,
        }
    )
    invoice["CreditNotes"].append(
        credit_note_ref
        | {
            "ID": credit_note["CreditNoteID"],
            "AppliedAmount": amount,
            "Date": ms_date(applied_on),
            "Total": credit_note["Total"],
            "_allocation_id": allocation_id,
        }
    )
    state = xero_state()
    events.publish(state, books.tenant_id, "INVOICE", "UPDATE", invoice["InvoiceID"])
    events.publish(state, books.tenant_id, "CREDITNOTE", "UPDATE", credit_note["CreditNoteID"])
    record = {
        "AllocationID": allocation_id,
        "Amount": amount,
        "Date": ms_date(applied_on),
        "Invoice": invoice_ref | {"Status": invoice["Status"], "AmountDue": invoice["AmountDue"]},
        "CreditNote": credit_note_ref | {"RemainingCredit": credit_note["RemainingCredit"]},
    }
    return ElementResult(record)


@accounting.put("/CreditNotes/<credit_note_ref>/Allocations")
def allocate_credit_note(credit_note_ref: str) -> Response:
    credit_note = find_credit_note(g.books, credit_note_ref)
    if credit_note is None:
        return errors.not_found()
    results = [_allocate(credit_note, element) for element in g.checked.body["Allocations"]]
    return batch_response(
        results,
        "Allocations",
        None,
        summarize_errors=summarize_errors_requested(g.checked.query),
        now=g.now,
    )


@accounting.delete("/CreditNotes/<credit_note_ref>/Allocations/<allocation_id>")
def delete_allocation(credit_note_ref: str, allocation_id: str) -> Response:
    books: Books = g.books
    credit_note = find_credit_note(books, credit_note_ref)
    allocations = credit_note["Allocations"] if credit_note else []
    allocation = next((a for a in allocations if a["AllocationID"] == allocation_id.lower()), None)
    if credit_note is None or allocation is None:
        return errors.not_found()
    invoice = books.invoices[allocation["Invoice"]["InvoiceID"]]
    amount = allocation["Amount"]
    allocations.remove(allocation)
    invoice["CreditNotes"] = [
        c for c in invoice["CreditNotes"] if c.get("_allocation_id") != allocation["AllocationID"]
    ]
    balances.unsettle(invoice, amount, g.now, via="AmountCredited")
    balances.unsettle(credit_note, amount, g.now, via="AmountCredited")
    events.publish(xero_state(), books.tenant_id, "INVOICE", "UPDATE", invoice["InvoiceID"])
    return jsonify(plain(allocation | {"IsDeleted": True}))
