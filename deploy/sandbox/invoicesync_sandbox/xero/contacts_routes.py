"""GET/PUT/POST Contacts with Xero's unique-active-name rule."""

from __future__ import annotations

from flask import Response, g, jsonify

from invoicesync_sandbox.xero import errors, events
from invoicesync_sandbox.xero.batch import ElementResult, batch_response, summarize_errors_requested
from invoicesync_sandbox.xero.contact_rules import fold
from invoicesync_sandbox.xero.documents import ZERO_ID, ElementRejected, build_contact
from invoicesync_sandbox.xero.gate import accounting, xero_state
from invoicesync_sandbox.xero.listing import arg, csv_arg, list_response
from invoicesync_sandbox.xero.store import Books
from invoicesync_sandbox.xero.wire import envelope

CONTACT_FIELDS = frozenset(
    [
        "ContactID",
        "ContactNumber",
        "Name",
        "FirstName",
        "LastName",
        "EmailAddress",
        "AccountNumber",
        "ContactStatus",
    ]
)


def _view(record: dict) -> dict:
    return {key: record.get(key) for key in CONTACT_FIELDS}


def _find(books: Books, ref: str) -> dict | None:
    # GET /Contacts/{ContactID} and /Contacts/{ContactNumber} both exist (reference xero.md §3,
    # "Endpoints"; DOC-CON). Names are stored verbatim: Xero keeps any Name up to 255 chars.
    return books.contacts.get(ref.lower()) or next(
        (c for c in books.contacts.values() if c.get("ContactNumber") == ref), None
    )


@accounting.get("/Contacts")
def list_contacts() -> Response:
    books: Books = g.books
    archived = (arg("includeArchived") or "").lower() == "true"
    ids = csv_arg("IDs")
    records = [
        c
        for c in books.contacts.values()
        if (archived or c["ContactStatus"] == "ACTIVE") and (ids is None or c["ContactID"] in ids)
    ]
    term = arg("searchTerm")
    if term:
        # searchTerm (getContacts in xero_accounting.yaml): a case-insensitive "contains" over
        # Name, FirstName, LastName, ContactNumber and EmailAddress. It is no `where`
        # expression, so quotes in it are plain characters (reference xero.md §3).
        keys = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
        records = [r for r in records if any(fold(term) in fold(r.get(k) or "") for k in keys)]
    return list_response(records, "Contacts", "Contact", _view, CONTACT_FIELDS, g.now)


@accounting.get("/Contacts/<contact_ref>")
def get_contact(contact_ref: str) -> Response:
    record = _find(g.books, contact_ref)
    if record is None:
        return errors.not_found()
    return jsonify(envelope(g.now, "Contacts", [record]))


def _save(element: dict, existing: dict | None) -> ElementResult:
    books: Books = g.books
    try:
        record = build_contact(books, element, existing, g.now)
    except ElementRejected as rejected:
        echo = dict(element) | {"ContactID": element.get("ContactID", ZERO_ID)}
        return ElementResult(echo, rejected.messages)
    kind = "CREATE" if existing is None else "UPDATE"
    events.publish(xero_state(), books.tenant_id, "CONTACT", kind, record["ContactID"])
    return ElementResult(record)


def _reply(results: list[ElementResult]) -> Response:
    return batch_response(
        results,
        "Contacts",
        "HasValidationErrors",
        summarize_errors=summarize_errors_requested(g.checked.query),
        now=g.now,
    )


@accounting.put("/Contacts")
def create_contacts() -> Response:
    return _reply([_save(e, None) for e in g.checked.body["Contacts"]])


@accounting.post("/Contacts")
def update_or_create_contacts() -> Response:
    books: Books = g.books
    results = []
    for element in g.checked.body["Contacts"]:
        existing = books.contacts.get(str(element.get("ContactID", "")).lower())
        results.append(_save(element, existing))
    return _reply(results)


@accounting.post("/Contacts/<contact_ref>")
def update_contact(contact_ref: str) -> Response:
    existing = _find(g.books, contact_ref)
    if existing is None:
        return errors.not_found()
    return _reply([_save(g.checked.body["Contacts"][0], existing)])
