"""What a writer does with a Keap payment, given what the id map and the ledger's invoice say.

One decision per payment: apply it, record it as a refund, hold it until its invoice can take
it, adopt what the ledger already has, or skip it and say why. The writer flow reads the facts,
asks `payment_decision`, and performs what it answers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from invoicesync.domain.canonical import CanonicalPayment, PaymentKind
from invoicesync.domain.sync_rules import (
    SkipReason,
    skip_overpayment,
    skip_payments_not_synced,
)
from invoicesync.domain.tenant_settings import SyncSettings


@dataclass(frozen=True)
class LedgerInvoice:
    """An invoice as the destination holds it, with what the flow decides on."""

    destination_id: str
    number: str
    status: str
    total: Decimal
    amount_due: Decimal
    accepts_payments: bool
    # Keap payment ids already recorded against this invoice (read back from the ledger, so a
    # lost id map never pays twice).
    recorded_payment_ids: frozenset[str] = field(default_factory=frozenset)
    contact_id: str = ""
    # What payments and credit notes have applied to it (Xero freezes an approved invoice
    # once either is non-zero).
    amount_paid: Decimal = Decimal("0")
    amount_credited: Decimal = Decimal("0")
    # Its QBO PrivateNote / Xero Reference: where our writers leave their marker.
    note: str = ""


class PaymentAction(enum.StrEnum):
    # Write nothing and report why (payments not synced, an overpayment).
    SKIP = "skip"
    # The id map says it was written before: write nothing.
    ALREADY_SYNCED = "already_synced"
    # The ledger's invoice already carries it (its mapping was lost): map it, write nothing.
    ADOPT = "adopt"
    # Its invoice is not in the ledger yet, or does not take payments yet: wait.
    HOLD = "hold"
    # Its invoice is in the ledger: read the invoice's state and decide again with it.
    READ_INVOICE = "read_invoice"
    APPLY = "apply"
    REFUND = "refund"


@dataclass(frozen=True)
class PaymentDecision:
    action: PaymentAction
    reason: str = ""
    # The ledger document the decision is about (the payment's or its invoice's), if any.
    destination_id: str = ""
    # False when a re-check of a held payment has nothing new to tell the activity log.
    report: bool = True
    # A SkipReason value when the payment is skipped.
    reason_code: str = ""


def payment_decision(
    payment: CanonicalPayment,
    sync: SyncSettings,
    *,
    synced_as: str | None,
    invoice_id: str | None,
    invoice: LedgerInvoice | None = None,
    rechecking: bool = False,
) -> PaymentDecision:
    """`synced_as`: the ledger id the id map holds for this payment; `invoice_id`: the one it
    holds for its invoice; `invoice`: that invoice's state, once read (None until then);
    `rechecking`: the payment comes from the held payments, not from a new event."""
    skip = skip_payments_not_synced(sync)
    if skip is not None:
        return PaymentDecision(PaymentAction.SKIP, skip.summary, reason_code=skip.reason)
    if synced_as is not None:
        return PaymentDecision(
            PaymentAction.ALREADY_SYNCED,
            "already synced",
            synced_as,
            report=not rechecking,
            reason_code=SkipReason.ALREADY_WRITTEN,
        )
    if invoice_id is None:
        reason = "its invoice is not in the destination yet"
        return PaymentDecision(PaymentAction.HOLD, reason, report=not rechecking)
    if invoice is None:
        return PaymentDecision(PaymentAction.READ_INVOICE, destination_id=invoice_id)
    return _decision_on_ledger_invoice(payment, sync, invoice, rechecking)


def _decision_on_ledger_invoice(
    payment: CanonicalPayment, sync: SyncSettings, invoice: LedgerInvoice, rechecking: bool
) -> PaymentDecision:
    if payment.keap_payment_id in invoice.recorded_payment_ids:
        reason = "already synced (found on the invoice)"
        return PaymentDecision(PaymentAction.ADOPT, reason, invoice.destination_id)
    if payment.kind is PaymentKind.REFUND:
        return PaymentDecision(PaymentAction.REFUND, destination_id=invoice.destination_id)
    if not invoice.accepts_payments:
        reason = f"the invoice is {invoice.status}; the payment is applied once it is approved"
        return PaymentDecision(
            PaymentAction.HOLD, reason, invoice.destination_id, report=not rechecking
        )
    skip = skip_overpayment(payment, invoice.amount_due, sync)
    if skip is not None:
        return PaymentDecision(
            PaymentAction.SKIP, skip.summary, invoice.destination_id, reason_code=skip.reason
        )
    reason = "applied once the invoice was approved" if rechecking else ""
    return PaymentDecision(PaymentAction.APPLY, reason, invoice.destination_id)
