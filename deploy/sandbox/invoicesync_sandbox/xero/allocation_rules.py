"""What Xero checks before it allocates a credit note to an invoice."""

from __future__ import annotations

from decimal import Decimal

# Texts seen in Xero's ValidationException replies (xeroizer#320, calcinai/xero-php#251).
EXCEEDS_OUTSTANDING = "Credit Note cannot be allocated as amount is greater than amount outstanding"
INVOICE_PAID_OFF = "The invoice you are trying to allocate to has already been paid off"
WRONG_INVOICE_TYPE = "Credit Note cannot be allocated to an incorrect invoice type"
# Not captured from the live API; worded in Xero's style.
CREDIT_NOTE_NOT_AUTHORISED = "Credit Note must be AUTHORISED before it can be allocated."
INVOICE_NOT_AUTHORISED = "Credit Note can only be allocated to an AUTHORISED invoice."
OTHER_CONTACT = "Credit Note cannot be allocated to an invoice for a different contact."
AMOUNT_NOT_POSITIVE = "Allocation amount must be greater than zero."
MATCHING_INVOICE_TYPE = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}


def allocation_errors(credit_note: dict, invoice: dict, amount: Decimal) -> list[str]:
    """Every reason the allocation is refused (Xero lists them all on the element)."""
    messages = []
    if credit_note["Status"] != "AUTHORISED":
        messages.append(CREDIT_NOTE_NOT_AUTHORISED)
    if invoice["Status"] == "PAID":
        messages.append(INVOICE_PAID_OFF)
    elif invoice["Status"] != "AUTHORISED":
        messages.append(INVOICE_NOT_AUTHORISED)
    if MATCHING_INVOICE_TYPE.get(credit_note["Type"]) != invoice["Type"]:
        messages.append(WRONG_INVOICE_TYPE)
    if credit_note["Contact"]["ContactID"] != invoice["Contact"]["ContactID"]:
        messages.append(OTHER_CONTACT)
    if amount <= 0:
        messages.append(AMOUNT_NOT_POSITIVE)
    elif amount > credit_note["RemainingCredit"] or amount > invoice["AmountDue"]:
        messages.append(EXCEEDS_OUTSTANDING)
    return messages
