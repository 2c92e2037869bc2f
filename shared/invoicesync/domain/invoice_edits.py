"""Whether a Keap edit of an invoice already in the ledger can be written there.

Xero edits an AUTHORISED invoice until a payment or a credit note is applied to it (reference
xero.md §2, status model and "Editing after payment"); DRAFT and SUBMITTED ones always; PAID,
VOIDED and DELETED ones never. QBO has no approval step: its adapter answers the rest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from invoicesync.domain.canonical import Destination
from invoicesync.domain.payment_to_ledger import LedgerInvoice

XERO_ALWAYS_EDITABLE = frozenset({"DRAFT", "SUBMITTED"})
XERO_EDITABLE_UNTIL_PAID = "AUTHORISED"


class EditAction(enum.StrEnum):
    UPDATE = "update"
    # The ledger cannot take the change: an exception for the activity log, nothing written.
    REFUSE = "refuse"


@dataclass(frozen=True)
class EditDecision:
    action: EditAction
    reason: str = ""


def invoice_edit_decision(
    destination: Destination, invoice_number: str, current: LedgerInvoice
) -> EditDecision:
    """`current` is the ledger's invoice as read just before the edit."""
    if destination is not Destination.XERO or current.status in XERO_ALWAYS_EDITABLE:
        return EditDecision(EditAction.UPDATE)
    if current.status == XERO_EDITABLE_UNTIL_PAID:
        applied = _applied(current)
        if not applied:
            return EditDecision(EditAction.UPDATE)
        why = f"Xero has {' and '.join(applied)} on it"
    else:
        why = f"it is {current.status} in Xero"
    return EditDecision(
        EditAction.REFUSE,
        f"Keap changed invoice {invoice_number}, but {why}, so it can no longer be edited; "
        "change it in Xero by hand",
    )


def _applied(current: LedgerInvoice) -> list[str]:
    applied = []
    if current.amount_paid != Decimal("0"):
        applied.append(f"a payment of {current.amount_paid}")
    if current.amount_credited != Decimal("0"):
        applied.append(f"a credit of {current.amount_credited}")
    return applied
