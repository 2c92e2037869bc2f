"""GET/PUT/POST Invoices: create-only PUT, upserting POST, per-id update and voiding."""

from __future__ import annotations

from flask import Response, g, jsonify

from invoicesync_sandbox.xero import errors, events
from invoicesync_sandbox.xero.batch import ElementResult, batch_response, summarize_errors_requested
from invoicesync_sandbox.xero.documents import ZERO_ID, ElementRejected, build_invoice
from invoicesync_sandbox.xero.gate import accounting, xero_state
from invoicesync_sandbox.xero.listing import arg, csv_arg, list_response
from invoicesync_sandbox.xero.store import Books
from invoicesync_sandbox.xero.wire import envelope

INVOICE_FIELDS = frozenset(
    [
        "Type",
        "Status",
        "InvoiceNumber",
        "InvoiceID",
        "Reference",
        "Date",
        "DueDate",
        "AmountDue",
        "AmountPaid",
        "Total",
        "Contact.ContactID",
        "Contact.Name",
        "Contact.ContactNumber",
    ]
)


def invoice_view(record: dict) -> dict:
    contact = record["Contact"]
    return {key: record.get(key) for key in INVOICE_FIELDS if "." not in key} | {
        "Date": record["_date"],
        "DueDate": record.get("_due"),
        "Contact.ContactID": contact["ContactID"],
        "Contact.Name": contact.get("Name"),
        "Contact.ContactNumber": contact.get("ContactNumber"),
    }


def find_invoice(books: Books, id_or_number: str) -> dict | None:
    found = books.invoices.get(id_or_number.lower())
    if found:
        return found
    wanted = id_or_number.lower()
    return next((i for i in books.invoices.values() if i["InvoiceNumber"].lower() == wanted), None)


def _unitdp() -> int:
    return 4 if arg("unitdp") == "4" else 2


@accounting.get("/Invoices")
def list_invoices() -> Response:
    books: Books = g.books
    records = [r for r in books.invoices.values() if r["Status"] != "DELETED" or arg("where")]
    ids, numbers = csv_arg("IDs"), csv_arg("InvoiceNumbers")
    statuses, contacts = csv_arg("Statuses"), csv_arg("ContactIDs")
    records = [
        r
        for r in records
        if (ids is None or r["InvoiceID"] in ids)
        and (numbers is None or r["InvoiceNumber"].lower() in numbers)
        and (statuses is None or r["Status"].lower() in statuses)
        and (contacts is None or r["Contact"]["ContactID"] in contacts)
    ]
    term = arg("searchTerm")
    if term:
        records = [
            r for r in records if term.lower() in f"{r['InvoiceNumber']} {r['Reference']}".lower()
        ]
    return list_response(
        records, "Invoices", "Invoice", invoice_view, INVOICE_FIELDS, g.now, strip_lines=True
    )


@accounting.get("/Invoices/<invoice_ref>")
def get_invoice(invoice_ref: str) -> Response:
    record = find_invoice(g.books, invoice_ref)
    if record is None:
        return errors.not_found()
    return jsonify(envelope(g.now, "Invoices", [record]))


def _save(element: dict, existing: dict | None) -> ElementResult:
    books: Books = g.books
    state = xero_state()
    try:
        record, new_contact = build_invoice(books, element, existing, unitdp=_unitdp(), now=g.now)
    except ElementRejected as rejected:
        echo = dict(element) | {"InvoiceID": element.get("InvoiceID", ZERO_ID), "HasErrors": True}
        return ElementResult(echo, rejected.messages)
    books.invoices[record["InvoiceID"]] = record
    if new_contact:
        events.publish(state, books.tenant_id, "CONTACT", "CREATE", record["Contact"]["ContactID"])
    kind = "CREATE" if existing is None else "UPDATE"
    events.publish(state, books.tenant_id, "INVOICE", kind, record["InvoiceID"])
    return ElementResult(record)


def _existing_for_upsert(element: dict) -> dict | None:
    books: Books = g.books
    if element.get("InvoiceID"):
        return books.invoices.get(str(element["InvoiceID"]).lower())
    if element.get("Type", "ACCREC") == "ACCREC" and element.get("InvoiceNumber"):
        return find_invoice(books, element["InvoiceNumber"])
    return None


def _reply(results: list[ElementResult]) -> Response:
    return batch_response(
        results,
        "Invoices",
        "HasErrors",
        summarize_errors=summarize_errors_requested(g.checked.query),
        now=g.now,
    )


@accounting.put("/Invoices")
def create_invoices() -> Response:
    elements = g.checked.body["Invoices"]
    return _reply([_save({k: v for k, v in e.items() if k != "InvoiceID"}, None) for e in elements])


@accounting.post("/Invoices")
def update_or_create_invoices() -> Response:
    elements = g.checked.body["Invoices"]
    results = []
    for element in elements:
        existing = _existing_for_upsert(element)
        if element.get("InvoiceID") and existing is None:
            results.append(ElementResult(dict(element), ["Invoice could not be found"]))
            continue
        results.append(_save(element, existing))
    return _reply(results)


@accounting.post("/Invoices/<invoice_ref>")
def update_invoice(invoice_ref: str) -> Response:
    existing = find_invoice(g.books, invoice_ref)
    if existing is None:
        return errors.not_found()
    element = dict(g.checked.body["Invoices"][0]) | {"InvoiceID": existing["InvoiceID"]}
    return _reply([_save(element, existing)])
