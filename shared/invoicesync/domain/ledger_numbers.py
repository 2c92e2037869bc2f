"""The number a Keap invoice carries in the ledger, and whose invoice a number already names.

Keap's invoice number becomes the Xero InvoiceNumber / QBO DocNumber, after an optional
per-tenant prefix. A company that traded before us holds its own invoices under numbers Keap
also uses (QBO's sequence starts at 1001, many start at 1), so a document found under our
number is ours only when it carries the marker our writers put on every invoice: the QBO
PrivateNote and the Xero Reference built here. Anything else is a number clash: reported,
never adopted or rewritten.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from invoicesync.domain.canonical import CanonicalInvoice, Destination
from invoicesync.domain.payment_to_ledger import LedgerInvoice

# Short enough that prefix + a Keap id fits QBO's 21-character DocNumber; characters that are
# printable ASCII for Xero, need no quoting in a QBO query or a Xero filter, and are safe in a
# URL path (`GET /Invoices/{InvoiceNumber}`).
INVOICE_NUMBER_PREFIX_MAX = 10
_PREFIX_CHARACTERS = re.compile(r"[A-Za-z0-9._-]*")


def invoice_number_prefix_problem(prefix: str) -> str | None:
    """Why `prefix` cannot be an invoice-number prefix, or None when it can."""
    if len(prefix) > INVOICE_NUMBER_PREFIX_MAX:
        return f"at most {INVOICE_NUMBER_PREFIX_MAX} characters"
    if not _PREFIX_CHARACTERS.fullmatch(prefix):
        return "only letters, digits, '.', '_' and '-'"
    return None


def ledger_invoice_number(keap_number: str, prefix: str) -> str:
    return f"{prefix}{keap_number.strip()}"


def qbo_invoice_marker(invoice: CanonicalInvoice) -> str:
    """The QBO PrivateNote of every invoice we write."""
    return f"Keap invoice {invoice.keap_invoice_id}, order {invoice.keap_order_id}"


def xero_invoice_marker(invoice: CanonicalInvoice) -> str:
    """The Xero Reference of every invoice we write."""
    return f"Keap order {invoice.keap_order_id}"


# What the markers above hold, read back from a ledger document whose mapping is unknown.
_QBO_MARKER = re.compile(r"Keap invoice (?P<invoice>[^\s,]+), order (?P<order>[^\s,]+)")
_XERO_MARKER = re.compile(r"Keap order (?P<order>[^\s,]+)")


def keap_order_id_in_marker(destination: Destination, note: str) -> str | None:
    """The Keap order id our marker in a ledger invoice's PrivateNote/Reference names, or None
    when the note carries no marker of ours (an invoice InvoiceSync did not write)."""
    pattern = _QBO_MARKER if destination is Destination.QBO else _XERO_MARKER
    match = pattern.search(note or "")
    return match.group("order") if match else None


def carries_our_marker(destination: Destination, invoice: CanonicalInvoice, note: str) -> bool:
    """Whether a ledger document's PrivateNote/Reference says we wrote it, for this invoice.
    QBO prepends "Voided" to the note of a voided invoice, so the marker may not lead."""
    marker = (
        qbo_invoice_marker(invoice)
        if destination is Destination.QBO
        else xero_invoice_marker(invoice)
    )
    return re.search(re.escape(marker) + r"(?!\w)", note or "") is not None


class NumberAction(enum.StrEnum):
    # Ours, same total: map it and write nothing.
    ADOPT = "adopt"
    # Ours, Keap changed it since: rewrite it (if the ledger still takes edits).
    REWRITE = "rewrite"
    # Not ours: report, write nothing.
    CLASH = "clash"


@dataclass(frozen=True)
class NumberDecision:
    action: NumberAction
    reason: str = ""


def existing_number_decision(
    destination: Destination, invoice: CanonicalInvoice, existing: LedgerInvoice
) -> NumberDecision:
    """What to do with `existing`, the ledger's invoice under `invoice`'s number."""
    if not carries_our_marker(destination, invoice, existing.note):
        name = "QBO" if destination is Destination.QBO else "Xero"
        return NumberDecision(
            NumberAction.CLASH,
            f"number clash: {name} already has invoice {existing.number} "
            f"(id {existing.destination_id}, {existing.status}) that InvoiceSync did not "
            f"write; it was left alone and Keap invoice {invoice.keap_invoice_id} was not "
            "written. Set an invoice-number prefix in the sync settings, then sync it again",
        )
    if existing.total == invoice.totals.total:
        return NumberDecision(NumberAction.ADOPT, "already synced (found by its number)")
    return NumberDecision(NumberAction.REWRITE)


# A voided invoice keeps its number in Xero and QBO, and Xero's ACCREC numbers are unique, so
# an invoice written again after a void goes under its number with a reissue suffix ("-2",
# then "-3"): Keap's numbers are digits only, so a suffixed number never names another order
# (xero.md §9 gotcha 10: delete payments, void, recreate with a new number).
_REISSUE_SUFFIX = re.compile(r"^(?P<number>.+)-(?P<count>[2-9]|[1-9]\d+)$")
REISSUED_NUMBER_MAX = 21  # QBO's DocNumber; Xero allows 255


def reissue_number(number: str, voided_number: str) -> str | None:
    """The number the invoice numbered `number` (prefix and Keap's) is written again under once
    the ledger's `voided_number` is voided, or None when it would not fit a DocNumber."""
    found = _REISSUE_SUFFIX.match(voided_number)
    count = int(found.group("count")) if found and found.group("number") == number else 1
    reissued = f"{number}-{count + 1}"
    return reissued if len(reissued) <= REISSUED_NUMBER_MAX else None


def names_the_same_invoice(keap_number: str, ledger_number: str) -> bool:
    """Whether a ledger number is Keap's, after a prefix and before a reissue suffix."""
    if ledger_number.endswith(keap_number):
        return True
    found = _REISSUE_SUFFIX.match(ledger_number)
    return found is not None and found.group("number").endswith(keap_number)
