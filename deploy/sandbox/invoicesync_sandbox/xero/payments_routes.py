"""GET/PUT/POST Payments: only against AUTHORISED invoices and never above AmountDue."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import Response, g, jsonify, request

from invoicesync_sandbox.xero import errors, events, payment_rules
from invoicesync_sandbox.xero.batch import ElementResult, batch_response, summarize_errors_requested
from invoicesync_sandbox.xero.documents import ZERO_ID, _parse_date
from invoicesync_sandbox.xero.gate import accounting, xero_state
from invoicesync_sandbox.xero.invoices_routes import find_invoice
from invoicesync_sandbox.xero.listing import list_response
from invoicesync_sandbox.xero.store import Books
from invoicesync_sandbox.xero.wire import date_string, envelope, ms_date, utc_string

PAYMENT_FIELDS = frozenset(
    ["PaymentID", "PaymentType", "Status", "Date", "Reference", "Amount", "Invoice.InvoiceID"]
)


def _view(record: dict) -> dict:
    return {k: record.get(k) for k in PAYMENT_FIELDS} | {
        "Date": record["_date"],
        "Invoice.InvoiceID": record["Invoice"]["InvoiceID"],
    }


def _apply(element: dict) -> ElementResult:
    books: Books = g.books
    target = element.get("Invoice") or {}
    ref = target.get("InvoiceID") or target.get("InvoiceNumber") or element.get("InvoiceNumber")
    invoice = find_invoice(books, str(ref)) if ref else None
    account_ref = element.get("Account") or {}
    account = books.accounts.get(str(account_ref.get("AccountID", "")).lower()) or (
        books.account_by_code(str(account_ref.get("Code"))) if account_ref.get("Code") else None
    )
    amount = Decimal(str(element.get("Amount", 0)))
    echo = dict(element) | {"PaymentID": ZERO_ID}
    if invoice is None:
        return ElementResult(echo, ["Invoice could not be found"])
    if account is None:
        return ElementResult(echo, ["Account could not be found"])
    error = payment_rules.payment_error(
        invoice["Status"],
        amount,
        invoice["AmountDue"],
        account_type=account["Type"],
        account_payments_enabled=account["EnablePaymentsToAccount"],
    )
    if error:
        return ElementResult(echo | {"Invoice": _invoice_summary(invoice)}, [error])
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
        "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
        "UpdatedDateUTC": ms_date(g.now),
        "UpdatedDateUTCString": utc_string(g.now),
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {"AccountID": account["AccountID"], "Code": account.get("Code", "")},
        "_date": paid_on,
        "_updated": g.now,
    }
    invoice["AmountPaid"] += amount
    invoice["AmountDue"] -= amount
    invoice["Status"] = payment_rules.status_after_payment(invoice["AmountDue"])
    if invoice["Status"] == "PAID":
        invoice["FullyPaidOnDate"] = ms_date(paid_on)
    invoice["Payments"].append(
        {k: payment[k] for k in ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate")}
        | {"HasAccount": False, "HasValidationErrors": False}
    )
    invoice["_updated"], invoice["UpdatedDateUTC"] = g.now, ms_date(g.now)
    payment["Invoice"] = _invoice_summary(invoice)
    books.payments[payment["PaymentID"]] = payment
    events.publish(xero_state(), books.tenant_id, "INVOICE", "UPDATE", invoice["InvoiceID"])
    return ElementResult(payment)


def _invoice_summary(invoice: dict) -> dict:
    keys = ("Type", "InvoiceID", "InvoiceNumber", "Contact", "CurrencyCode", "Status")
    return {k: invoice[k] for k in keys} | {"LineItems": [], "Payments": []}


def _reply(results: list[ElementResult]) -> Response:
    return batch_response(
        results,
        "Payments",
        "HasValidationErrors",
        summarize_errors=summarize_errors_requested(request.args),
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
