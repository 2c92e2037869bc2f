"""What Xero checks before it applies a payment to a document, or deletes one."""

from __future__ import annotations

from decimal import Decimal

EXCEEDS_OUTSTANDING = "Payment amount exceeds the amount outstanding on this document"
NOT_AUTHORISED = "Payment can only be made against Authorised documents."
AMOUNT_NOT_POSITIVE = "Payment amount must be greater than zero."
# Not captured from the live API; worded in Xero's style.
ALREADY_DELETED = "This payment has already been deleted."
ONLY_DELETION = "Payments cannot be edited; only a Status of DELETED can be applied to a payment."
ACCOUNT_NOT_PAYABLE = (
    "Payments can only be made to or from BANK accounts or accounts with payments enabled."
)


def payment_error(
    document_status: str,
    amount: Decimal,
    amount_due: Decimal,
    *,
    account_type: str | None,
    account_payments_enabled: bool,
) -> str | None:
    if document_status != "AUTHORISED":
        return NOT_AUTHORISED
    if amount <= 0:
        return AMOUNT_NOT_POSITIVE
    if amount > amount_due:
        return EXCEEDS_OUTSTANDING
    if account_type != "BANK" and not account_payments_enabled:
        return ACCOUNT_NOT_PAYABLE
    return None


def status_after_payment(amount_due_after: Decimal) -> str:
    return "PAID" if amount_due_after == 0 else "AUTHORISED"


def deletion_error(current_status: str, requested_status: str) -> str | None:
    if requested_status.upper() != "DELETED":
        return ONLY_DELETION
    if current_status == "DELETED":
        return ALREADY_DELETED
    return None
