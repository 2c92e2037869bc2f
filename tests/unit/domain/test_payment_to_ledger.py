"""What a writer does with a Keap payment: one table of the cases, no servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync.domain.canonical import PaymentKind
from invoicesync.domain.payment_to_ledger import (
    LedgerInvoice,
    PaymentAction,
    PaymentDecision,
    payment_decision,
)
from invoicesync.domain.tenant_settings import SyncSettings
from tests.unit.domain.canonical_builders import payment

PAYMENTS_ON = SyncSettings()
INVOICES_ONLY = SyncSettings(sync_payments=False)
OVERPAYMENTS_KEPT = SyncSettings(skip_overpayments=False)


def ledger_invoice(
    due: str = "100.00", *, status: str = "AUTHORISED", recorded: frozenset[str] = frozenset()
) -> LedgerInvoice:
    return LedgerInvoice(
        destination_id="inv-9",
        number="INV-1042",
        status=status,
        total=Decimal("100.00"),
        amount_due=Decimal(due),
        accepts_payments=status in ("AUTHORISED", "Open"),
        recorded_payment_ids=recorded,
    )


NOT_APPROVED = "the invoice is DRAFT; the payment is applied once it is approved"
CASES = {
    "payments not synced": (
        dict(sync=INVOICES_ONLY, synced_as="pay-1", invoice_id="inv-9"),
        PaymentDecision(
            PaymentAction.SKIP,
            "payments_not_synced: tenant syncs invoices only",
            reason_code="payments_not_synced",
        ),
    ),
    "already in the id map": (
        dict(synced_as="pay-1", invoice_id="inv-9"),
        PaymentDecision(
            PaymentAction.ALREADY_SYNCED, "already synced", "pay-1", reason_code="already_written"
        ),
    ),
    "already in the id map, re-checked from hold: nothing to report": (
        dict(synced_as="pay-1", invoice_id="inv-9", rechecking=True),
        PaymentDecision(
            PaymentAction.ALREADY_SYNCED,
            "already synced",
            "pay-1",
            report=False,
            reason_code="already_written",
        ),
    ),
    "invoice not in the ledger yet": (
        dict(invoice_id=None),
        PaymentDecision(PaymentAction.HOLD, "its invoice is not in the destination yet"),
    ),
    "invoice mapped, its state not read yet": (
        dict(invoice_id="inv-9"),
        PaymentDecision(PaymentAction.READ_INVOICE, destination_id="inv-9"),
    ),
    "the ledger's invoice already carries it": (
        dict(invoice=ledger_invoice(recorded=frozenset({"7781"}))),
        PaymentDecision(PaymentAction.ADOPT, "already synced (found on the invoice)", "inv-9"),
    ),
    "a refund": (
        dict(kind=PaymentKind.REFUND, invoice=ledger_invoice("0.00")),
        PaymentDecision(PaymentAction.REFUND, destination_id="inv-9"),
    ),
    "a refund against a draft is still recorded": (
        dict(kind=PaymentKind.REFUND, invoice=ledger_invoice(status="DRAFT")),
        PaymentDecision(PaymentAction.REFUND, destination_id="inv-9"),
    ),
    "invoice DRAFT: hold": (
        dict(invoice=ledger_invoice(status="DRAFT")),
        PaymentDecision(PaymentAction.HOLD, NOT_APPROVED, "inv-9"),
    ),
    "invoice SUBMITTED: hold": (
        dict(invoice=ledger_invoice(status="SUBMITTED")),
        PaymentDecision(
            PaymentAction.HOLD,
            "the invoice is SUBMITTED; the payment is applied once it is approved",
            "inv-9",
        ),
    ),
    "invoice still DRAFT on a re-check: hold quietly": (
        dict(invoice=ledger_invoice(status="DRAFT"), rechecking=True),
        PaymentDecision(PaymentAction.HOLD, NOT_APPROVED, "inv-9", report=False),
    ),
    "more than is due: skip the overpayment": (
        dict(amount="60.00", invoice=ledger_invoice("50.00")),
        PaymentDecision(
            PaymentAction.SKIP,
            "overpayment: 60.00 would overpay the 50.00 due",
            "inv-9",
            reason_code="overpayment",
        ),
    ),
    "more than is due, overpayments kept: apply": (
        dict(sync=OVERPAYMENTS_KEPT, amount="60.00", invoice=ledger_invoice("50.00")),
        PaymentDecision(PaymentAction.APPLY, destination_id="inv-9"),
    ),
    "exactly what is due: apply": (
        dict(amount="50.00", invoice=ledger_invoice("50.00")),
        PaymentDecision(PaymentAction.APPLY, destination_id="inv-9"),
    ),
    "approved since it was held: apply and say so": (
        dict(invoice=ledger_invoice(), rechecking=True),
        PaymentDecision(
            PaymentAction.APPLY, "applied once the invoice was approved", destination_id="inv-9"
        ),
    ),
    "QBO's open invoice takes payments": (
        dict(invoice=ledger_invoice(status="Open")),
        PaymentDecision(PaymentAction.APPLY, destination_id="inv-9"),
    ),
}


@pytest.mark.parametrize(("facts", "expected"), CASES.values(), ids=CASES.keys())
def test_payment_decision(facts: dict, expected: PaymentDecision):
    facts = dict(facts)
    sync = facts.pop("sync", PAYMENTS_ON)
    the_payment = payment(facts.pop("amount", "50.00"), kind=facts.pop("kind", PaymentKind.PAYMENT))
    invoice = facts.get("invoice")
    facts.setdefault("synced_as", None)
    facts.setdefault("invoice_id", invoice.destination_id if invoice else None)

    assert payment_decision(the_payment, sync, **facts) == expected


def test_a_decision_is_the_same_whichever_way_the_invoice_id_was_found():
    invoice = ledger_invoice()
    decision = payment_decision(payment(), PAYMENTS_ON, synced_as=None, invoice_id="inv-9")

    assert decision.action is PaymentAction.READ_INVOICE
    assert payment_decision(
        payment(), PAYMENTS_ON, synced_as=None, invoice_id=decision.destination_id, invoice=invoice
    ) == PaymentDecision(PaymentAction.APPLY, destination_id="inv-9")
