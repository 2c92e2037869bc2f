"""How payments, refunds and credit-note allocations move a document's outstanding amount."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from invoicesync_sandbox.xero.wire import ms_date

CREDIT_NOTE_TYPES = ("ACCRECCREDIT", "ACCPAYCREDIT")


def is_credit_note(document: dict) -> bool:
    return document.get("Type") in CREDIT_NOTE_TYPES


def outstanding(document: dict) -> Decimal:
    """AmountDue of an invoice, RemainingCredit of a credit note."""
    return document["RemainingCredit"] if is_credit_note(document) else document["AmountDue"]


def has_settlements(document: dict) -> bool:
    """Whether live payments or credit allocations are applied, which freezes the document."""
    return bool(
        document.get("Payments") or document.get("CreditNotes") or document.get("Allocations")
    )


def settle(document: dict, amount: Decimal, on: date, now: datetime, *, via: str) -> None:
    """Take `amount` off the outstanding balance; `via` is AmountPaid or AmountCredited."""
    _move(document, -amount)
    if not is_credit_note(document):
        document[via] += amount
    if outstanding(document) == 0:
        document["Status"] = "PAID"
        document["FullyPaidOnDate"] = ms_date(on)
    _touch(document, now)


def unsettle(document: dict, amount: Decimal, now: datetime, *, via: str) -> None:
    """Put `amount` back (a deleted payment or allocation); a PAID document is AUTHORISED again."""
    _move(document, amount)
    if not is_credit_note(document):
        document[via] -= amount
    if document["Status"] == "PAID" and outstanding(document) > 0:
        document["Status"] = "AUTHORISED"
        document.pop("FullyPaidOnDate", None)
    _touch(document, now)


def _move(document: dict, delta: Decimal) -> None:
    key = "RemainingCredit" if is_credit_note(document) else "AmountDue"
    document[key] += delta


def _touch(document: dict, now: datetime) -> None:
    document["_updated"], document["UpdatedDateUTC"] = now, ms_date(now)
