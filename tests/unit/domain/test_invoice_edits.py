"""Whether a Keap edit reaches the ledger's invoice: one table of the cases, no servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.domain.invoice_edits import EditAction, invoice_edit_decision
from invoicesync.domain.payment_to_ledger import LedgerInvoice


def ledger_invoice(status: str, paid: str = "0", credited: str = "0") -> LedgerInvoice:
    return LedgerInvoice(
        destination_id="inv-9",
        number="1042",
        status=status,
        total=Decimal("100.00"),
        amount_due=Decimal("100.00") - Decimal(paid) - Decimal(credited),
        accepts_payments=status in ("AUTHORISED", "Open"),
        amount_paid=Decimal(paid),
        amount_credited=Decimal(credited),
    )


XERO, QBO = Destination.XERO, Destination.QBO
CASES = {
    "xero draft": (XERO, ledger_invoice("DRAFT"), EditAction.UPDATE, ""),
    "xero submitted": (XERO, ledger_invoice("SUBMITTED"), EditAction.UPDATE, ""),
    "xero approved, nothing applied": (XERO, ledger_invoice("AUTHORISED"), EditAction.UPDATE, ""),
    "xero approved, part paid": (
        XERO,
        ledger_invoice("AUTHORISED", paid="20.00"),
        EditAction.REFUSE,
        "Xero has a payment of 20.00 on it",
    ),
    "xero approved, a credit note allocated": (
        XERO,
        ledger_invoice("AUTHORISED", credited="10.00"),
        EditAction.REFUSE,
        "Xero has a credit of 10.00 on it",
    ),
    "xero paid": (
        XERO,
        ledger_invoice("PAID", paid="100.00"),
        EditAction.REFUSE,
        "it is PAID in Xero",
    ),
    "xero voided": (XERO, ledger_invoice("VOIDED"), EditAction.REFUSE, "it is VOIDED in Xero"),
    "qbo open, part paid": (QBO, ledger_invoice("Open", paid="20.00"), EditAction.UPDATE, ""),
}


@pytest.mark.parametrize("destination, current, action, why", CASES.values(), ids=CASES.keys())
def test_edit_decision(destination, current, action, why):
    decision = invoice_edit_decision(destination, "1042", current)

    assert decision.action is action
    assert why in decision.reason
    if action is EditAction.REFUSE:
        assert decision.reason.startswith("Keap changed invoice 1042, but ")
        assert decision.reason.endswith("change it in Xero by hand")
