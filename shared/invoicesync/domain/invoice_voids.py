"""Whether the ledger invoice of a Keap order since deleted can be taken back out of the books.

A reconciliation's re-sync asks for it; the writer decides on the invoice as it reads it then.
Xero: a DRAFT or SUBMITTED invoice is deleted, an AUTHORISED one voided, and only with no
payment or credit applied; VOIDED and DELETED are final (xero.md §2, status model). QBO: an
invoice is voided (its amounts zeroed, "Voided" prepended to its PrivateNote, qbo.md §2.5), and
one with a payment linked is left to the bookkeeper here too, so no payment is left unapplied.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_numbers import keap_order_id_in_marker
from invoicesync.domain.payment_to_ledger import LedgerInvoice
from invoicesync.domain.reconciliation import GONE_STATUSES

XERO_DELETABLE = frozenset({"DRAFT", "SUBMITTED"})


class VoidAction(enum.StrEnum):
    VOID = "void"
    DELETE = "delete"
    ALREADY_GONE = "already_gone"
    # Not done: the invoice is not this order's, or money is applied to it.
    REFUSE = "refuse"


@dataclass(frozen=True)
class VoidDecision:
    action: VoidAction
    reason: str = ""


def is_gone(destination: Destination, current: LedgerInvoice) -> bool:
    if destination is Destination.QBO:
        return current.note.startswith("Voided") or current.status.upper() in GONE_STATUSES
    return current.status.upper() in GONE_STATUSES


def void_decision(
    destination: Destination, keap_order_id: str, current: LedgerInvoice
) -> VoidDecision:
    """`current` is the ledger's invoice as just read; `keap_order_id` the deleted order."""
    name = "QBO" if destination is Destination.QBO else "Xero"
    if keap_order_id_in_marker(destination, current.note) != keap_order_id:
        return VoidDecision(
            VoidAction.REFUSE,
            f"{name} invoice {current.number} does not carry Keap order {keap_order_id}'s "
            "marker; it was left alone",
        )
    if is_gone(destination, current):
        return VoidDecision(VoidAction.ALREADY_GONE, f"already {current.status or 'voided'}")
    applied = current.amount_paid + current.amount_credited
    if applied != Decimal("0"):
        return VoidDecision(
            VoidAction.REFUSE,
            f"Keap order {keap_order_id} was deleted, but {name} invoice {current.number} has "
            f"{applied} paid or credited on it; remove that in {name}, then re-sync",
        )
    if destination is Destination.XERO and current.status.upper() in XERO_DELETABLE:
        return VoidDecision(VoidAction.DELETE)
    return VoidDecision(VoidAction.VOID)
