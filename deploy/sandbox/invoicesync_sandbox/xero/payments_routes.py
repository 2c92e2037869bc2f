"""Payments and credit-note refunds: AUTHORISED documents only, never above what is outstanding."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import Response, g, jsonify

from invoicesync_sandbox.xero import balances, errors, events, payment_rules
from invoicesync_sandbox.xero.batch import ElementResult, batch_response, summarize_errors_requested
from invoicesync_sandbox.xero.credit_notes_routes import find_credit_note
from invoicesync_sandbox.xero.documents import ZERO_ID, _parse_date
from invoicesync_sandbox.xero.gate import accounting, xero_state
from invoicesync_sandbox.xero.invoices_routes import find_invoice
from invoicesync_sandbox.xero.listing import list_response
from invoicesync_sandbox.xero.store import Books
from invoicesync_sandbox.xero.wire import date_string, envelope, ms_date, utc_string

PAYMENT_FIELDS = frozenset(
    ["PaymentID", "PaymentType", "Status", "Date", "Reference", "Amount", "Invoice.InvoiceID"]
)
PAYMENT_TYPES = {
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
}


def _view(record: dict) -> dict:
    return {k: record.get(k) for k in PAYMENT_FIELDS} | {
        "Date": record["_date"],
        "Invoice.InvoiceID": (record.get("Invoice") or {}).get("InvoiceID"),
    }


def _target(books: Books, element: dict) -> tuple[dict | None, str]:
    """The invoice or credit note a payment names, and the message when it names none."""
    credit = element.get("CreditNote") or {}
    credit_ref = credit.get("CreditNoteID") or credit.get("CreditNoteNumber")
    credit_ref = credit_ref or element.get("CreditNoteNumber")
    if credit_ref:
        return find_credit_note(books, str(credit_ref)), "Credit Note could not be found"
    target = element.get("Invoice") or {}
    ref = target.get("InvoiceID") or target.get("InvoiceNumber") or element.get("InvoiceNumber")
    return (find_invoice(books, str(ref)) if ref else None), "Invoice could not be found"


def _apply(element: dict) -> ElementResult:
    books: Books = g.books
    document, missing = _target(books, element)
    account_ref = element.get("Account") or {}
    account = books.accounts.get(str(account_ref.get("AccountID", "")).lower()) or (
        books.account_by_code(str(account_ref.get("Code"))) if account_ref.get("Code") else None
    )
    amount = Decimal(str(element.get("Amount", 0)))
    echo = dict(element) | {"PaymentID": ZERO_ID}
    if document is None:
        return ElementResult(echo, [missing])
    if account is None:
        return ElementResult(echo, ["Account could not be found"])
    error = payment_rules.payment_error(
        document["Status"],
        amount,
        balances.outstanding(document),
        account_type=account["Type"],
        account_payments_enabled=account["EnablePaymentsToAccount"],
    )
    if error:
        return ElementResult(echo | _document_summary(document), [error])
    paid_on = _parse_date(element.get("Date"), g.now.date())
    payment = {
        "PaymentID": str(uuid.uuid4()),
        "Date": ms_date(paid_on),
        "DateString": date_string(paid_on),
        "Amount": amount,
        "BankAmount": amount,
        "CurrencyRate": Decimal("1.000000"),
        "Reference": element.get("Reference", ""),
        "IsReconciled": bool(element.get("IsReconciled", False)),
        "Status": "AUTHORISED",
        "PaymentType": PAYMENT_TYPES[document["Type"]],
        "UpdatedDateUTC": ms_date(g.now),
        "UpdatedDateUTCString": utc_string(g.now),
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {"AccountID": account["AccountID"], "Code": account.get("Code", "")},
        "_date": paid_on,
        "_updated": g.now,
    }
    balances.settle(document, amount, paid_on, g.now, via="AmountPaid")
    document["Payments"].append(
        {k: payment[k] for k in ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate")}
        | {"HasAccount": False, "HasValidationErrors": False}
    )
    payment |= _document_summary(document)
    books.payments[payment["PaymentID"]] = payment
    _publish_change(books, document)
    return ElementResult(payment)


def _document_summary(document: dict) -> dict:
    """The `Invoice` or `CreditNote` object a payment carries."""
    if balances.is_credit_note(document):
        keys = ("Type", "CreditNoteID", "CreditNoteNumber", "Contact", "CurrencyCode", "Status")
        return {"CreditNote": {k: document[k] for k in keys} | {"LineItems": []}}
    keys = ("Type", "InvoiceID", "InvoiceNumber", "Contact", "CurrencyCode", "Status")
    return {"Invoice": {k: document[k] for k in keys} | {"LineItems": [], "Payments": []}}


def _paid_document(books: Books, payment: dict) -> dict:
    if "CreditNote" in payment:
        return books.credit_notes[payment["CreditNote"]["CreditNoteID"]]
    return books.invoices[payment["Invoice"]["InvoiceID"]]


def _publish_change(books: Books, document: dict) -> None:
    """Xero documents no Payment webhooks, and nowhere says that paying an invoice sends an
    INVOICE UPDATE (xero.md §8 [DOC-WH]: "No Payment, Item or Account events — poll those with
    If-Modified-Since"; §11 lists it as not verified). So by default a payment announces
    nothing and a client must poll for payments; `invoice_events_on_payment` on the webhook
    subscription turns the undocumented event on, for tests of a webhook-driven shortcut."""
    subscription = xero_state().webhook
    if subscription is None or not subscription.invoice_events_on_payment:
        return
    if balances.is_credit_note(document):
        category, resource_id = "CREDITNOTE", document["CreditNoteID"]
    else:
        category, resource_id = "INVOICE", document["InvoiceID"]
    events.publish(xero_state(), books.tenant_id, category, "UPDATE", resource_id)


def _delete(payment: dict, requested_status: str) -> ElementResult:
    """Payments are never edited; setting Status DELETED reverses one and reopens its document."""
    books: Books = g.books
    error = payment_rules.deletion_error(payment["Status"], requested_status)
    if error:
        return ElementResult(dict(payment), [error])
    document = _paid_document(books, payment)
    document["Payments"] = [
        p for p in document["Payments"] if p["PaymentID"] != payment["PaymentID"]
    ]
    balances.unsettle(document, payment["Amount"], g.now, via="AmountPaid")
    payment["Status"] = "DELETED"
    payment["_updated"], payment["UpdatedDateUTC"] = g.now, ms_date(g.now)
    payment["UpdatedDateUTCString"] = utc_string(g.now)
    payment |= _document_summary(document)
    _publish_change(books, document)
    return ElementResult(payment)


def _reply(results: list[ElementResult]) -> Response:
    return batch_response(
        results,
        "Payments",
        "HasValidationErrors",
        summarize_errors=summarize_errors_requested(g.checked.query),
        now=g.now,
    )


@accounting.get("/Payments")
def list_payments() -> Response:
    records = list(g.books.payments.values())
    return list_response(records, "Payments", "Payment", _view, PAYMENT_FIELDS, g.now)


@accounting.get("/Payments/<payment_id>")
def get_payment(payment_id: str) -> Response:
    record = g.books.payments.get(payment_id.lower())
    if record is None:
        return errors.not_found()
    return jsonify(envelope(g.now, "Payments", [record]))


@accounting.put("/Payments")
def create_payments() -> Response:
    return _reply([_apply(e) for e in g.checked.body["Payments"]])


@accounting.post("/Payments")
def create_payment() -> Response:
    body = g.checked.body
    elements = body["Payments"] if isinstance(body, dict) and "Payments" in body else [body]
    return _reply([_apply(e) for e in elements])


@accounting.post("/Payments/<payment_id>")
def delete_payment(payment_id: str) -> Response:
    payment = g.books.payments.get(payment_id.lower())
    if payment is None:
        return errors.not_found()
    return _reply([_delete(payment, str(g.checked.body.get("Status", "")))])
