"""GET/PUT/POST CreditNotes: create-only PUT, upserting POST, per-id update and voiding."""

from __future__ import annotations

from flask import Response, g, jsonify

from invoicesync_sandbox.xero import errors, events
from invoicesync_sandbox.xero.batch import ElementResult, batch_response, summarize_errors_requested
from invoicesync_sandbox.xero.documents import ZERO_ID, ElementRejected, build_invoice
from invoicesync_sandbox.xero.gate import accounting, xero_state
from invoicesync_sandbox.xero.listing import arg, list_response
from invoicesync_sandbox.xero.store import Books
from invoicesync_sandbox.xero.wire import envelope

CREDIT_NOTE_FIELDS = frozenset(
    [
        "Type",
        "Status",
        "CreditNoteNumber",
        "CreditNoteID",
        "Reference",
        "Date",
        "RemainingCredit",
        "Total",
        "Contact.ContactID",
        "Contact.Name",
        "Contact.ContactNumber",
    ]
)


def credit_note_view(record: dict) -> dict:
    contact = record["Contact"]
    return {key: record.get(key) for key in CREDIT_NOTE_FIELDS if "." not in key} | {
        "Date": record["_date"],
        "Contact.ContactID": contact["ContactID"],
        "Contact.Name": contact.get("Name"),
        "Contact.ContactNumber": contact.get("ContactNumber"),
    }


def find_credit_note(books: Books, id_or_number: str) -> dict | None:
    found = books.credit_notes.get(id_or_number.lower())
    if found:
        return found
    wanted = id_or_number.lower()
    return next(
        (c for c in books.credit_notes.values() if c["CreditNoteNumber"].lower() == wanted), None
    )


def _unitdp() -> int:
    return 4 if arg("unitdp") == "4" else 2


@accounting.get("/CreditNotes")
def list_credit_notes() -> Response:
    books: Books = g.books
    records = [r for r in books.credit_notes.values() if r["Status"] != "DELETED" or arg("where")]
    return list_response(
        records,
        "CreditNotes",
        "CreditNote",
        credit_note_view,
        CREDIT_NOTE_FIELDS,
        g.now,
        strip_lines=True,
    )


@accounting.get("/CreditNotes/<credit_note_ref>")
def get_credit_note(credit_note_ref: str) -> Response:
    record = find_credit_note(g.books, credit_note_ref)
    if record is None:
        return errors.not_found()
    return jsonify(envelope(g.now, "CreditNotes", [record]))


def _save(element: dict, existing: dict | None) -> ElementResult:
    books: Books = g.books
    state = xero_state()
    try:
        record, new_contact = build_invoice(
            books, element, existing, unitdp=_unitdp(), now=g.now, kind="CreditNote"
        )
    except ElementRejected as rejected:
        echo = dict(element) | {
            "CreditNoteID": element.get("CreditNoteID", ZERO_ID),
            "HasErrors": True,
        }
        return ElementResult(echo, rejected.messages)
    books.credit_notes[record["CreditNoteID"]] = record
    if new_contact:
        events.publish(state, books.tenant_id, "CONTACT", "CREATE", record["Contact"]["ContactID"])
    kind = "CREATE" if existing is None else "UPDATE"
    events.publish(state, books.tenant_id, "CREDITNOTE", kind, record["CreditNoteID"])
    return ElementResult(record)


def _existing_for_upsert(element: dict) -> dict | None:
    books: Books = g.books
    if element.get("CreditNoteID"):
        return books.credit_notes.get(str(element["CreditNoteID"]).lower())
    if element.get("Type") == "ACCRECCREDIT" and element.get("CreditNoteNumber"):
        return find_credit_note(books, element["CreditNoteNumber"])
    return None


def _reply(results: list[ElementResult]) -> Response:
    return batch_response(
        results,
        "CreditNotes",
        "HasErrors",
        summarize_errors=summarize_errors_requested(g.checked.query),
        now=g.now,
    )


@accounting.put("/CreditNotes")
def create_credit_notes() -> Response:
    elements = g.checked.body["CreditNotes"]
    return _reply(
        [_save({k: v for k, v in e.items() if k != "CreditNoteID"}, None) for e in elements]
    )


@accounting.post("/CreditNotes")
def update_or_create_credit_notes() -> Response:
    results = []
    for element in g.checked.body["CreditNotes"]:
        existing = _existing_for_upsert(element)
        if element.get("CreditNoteID") and existing is None:
            results.append(ElementResult(dict(element), ["Credit Note could not be found"]))
            continue
        results.append(_save(element, existing))
    return _reply(results)


@accounting.post("/CreditNotes/<credit_note_ref>")
def update_credit_note(credit_note_ref: str) -> Response:
    existing = find_credit_note(g.books, credit_note_ref)
    if existing is None:
        return errors.not_found()
    element = dict(g.checked.body["CreditNotes"][0]) | {"CreditNoteID": existing["CreditNoteID"]}
    return _reply([_save(element, existing)])
