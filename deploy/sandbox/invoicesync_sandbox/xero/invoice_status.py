"""The invoice status machine and which edits each status still allows."""

from __future__ import annotations

CREATABLE = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "DRAFT": frozenset({"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"}),
    "SUBMITTED": frozenset({"SUBMITTED", "AUTHORISED", "DRAFT", "DELETED"}),
    "AUTHORISED": frozenset({"AUTHORISED", "VOIDED"}),
    "PAID": frozenset({"PAID"}),
    "VOIDED": frozenset(),
    "DELETED": frozenset(),
}
# Fields a paid (or credited) ACCREC invoice still accepts; everything else is frozen.
EDITABLE_WHEN_ALLOCATED = frozenset(
    {"Reference", "DueDate", "InvoiceNumber", "BrandingThemeID", "Contact", "Url", "SentToContact"}
)
NOT_MODIFIABLE = "Invoice not of valid status for modification"
ALLOCATED = "This document cannot be edited as it has a payment or credit note allocated to it."


def creation_status_error(requested: str, kind: str = "Invoice") -> str | None:
    if requested in CREATABLE:
        return None
    documents = "Credit Notes" if kind == "CreditNote" else "Invoices"
    return f"{documents} cannot be created with the status {requested}."


def status_change_error(current: str, requested: str, *, has_allocations: bool) -> str | None:
    """None when the move is allowed, else the message Xero gives."""
    if requested == current and current in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        return None
    if requested not in TRANSITIONS.get(current, frozenset()):
        return NOT_MODIFIABLE
    if has_allocations and requested != current:
        return (
            f"The status {requested} cannot be applied to the invoice because it has "
            "payments or credit notes allocated to it."
        )
    return None


def edit_error(
    current: str, changed_fields: set[str], *, has_allocations: bool, credited: bool = False
) -> str | None:
    """Whether an update touching `changed_fields` (Status excluded) may be applied.

    AUTHORISED documents stay editable until a payment or credit note is applied; from then on
    only the few fields of EDITABLE_WHEN_ALLOCATED (less Contact once credit is allocated).
    """
    if not changed_fields:
        return None
    if current in ("VOIDED", "DELETED"):
        return NOT_MODIFIABLE
    editable = EDITABLE_WHEN_ALLOCATED - {"Contact"} if credited else EDITABLE_WHEN_ALLOCATED
    if (current == "PAID" or has_allocations) and changed_fields - editable:
        return ALLOCATED
    return None
