"""A destination ledger in memory, faithful to the `LedgerWriter` contract, for the writer
flow's unit tests: invoices keep their number, status, total and amount due; payments are
recorded against them (so a lost id map can find them); refunds become documents of their own.

It follows the rules the real adapters enforce: Xero-like ledgers refuse a second invoice with
the same number, an approved invoice cannot be edited once something is paid on it, a payment
needs an approved invoice and no more than is due, and a refund's document is numbered after
the Keap refund.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from invoicesync.domain.canonical import CanonicalInvoice, CanonicalPayment, Destination
from invoicesync.domain.ledger_numbers import qbo_invoice_marker, xero_invoice_marker
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.writing.ledger import LedgerInvoice, WriteOutcome, WriteStatus

EDITABLE_STATUSES = frozenset({"DRAFT", "SUBMITTED"})
APPROVED = {Destination.XERO: "AUTHORISED", Destination.QBO: "Open"}


@dataclass
class StoredInvoice:
    destination_id: str
    number: str
    status: str
    total: Decimal
    amount_due: Decimal
    contact_id: str
    # Keap payment id → the ledger's payment id, as the ledger's payment references show it.
    payments: dict[str, str] = field(default_factory=dict)
    edits: int = 0
    # PrivateNote / Reference: our writers' marker, or whatever the bookkeeper wrote.
    note: str = ""


@dataclass(frozen=True)
class StoredRefund:
    destination_id: str
    keap_payment_id: str
    invoice_id: str
    amount: Decimal


class InMemoryLedger:
    """One organisation per tenant. `rejects_duplicate_numbers=False` behaves like QBO (numbers
    are not unique, so the flow looks them up before creating)."""

    def __init__(
        self,
        destination: Destination = Destination.XERO,
        *,
        rejects_duplicate_numbers: bool | None = None,
        max_batch: int = 50,
    ) -> None:
        self.destination = destination
        self.rejects_duplicate_numbers = (
            destination is Destination.XERO
            if rejects_duplicate_numbers is None
            else rejects_duplicate_numbers
        )
        self.max_batch = max_batch
        self._invoices: dict[str, dict[str, StoredInvoice]] = {}
        self._refunds: dict[str, dict[str, StoredRefund]] = {}
        self._ids = itertools.count(1)

    # -- the LedgerWriter protocol -----------------------------------------------------------

    def find_invoices_by_number(
        self, tenant_id: str, numbers: Sequence[str]
    ) -> Mapping[str, LedgerInvoice]:
        return {
            stored.number: self._state(stored)
            for stored in self._invoices.get(tenant_id, {}).values()
            if stored.number in numbers
        }

    def create_invoices(
        self, tenant_id: str, invoices: Sequence[CanonicalInvoice], settings: TenantSettings
    ) -> list[WriteOutcome]:
        if len(invoices) > self.max_batch:
            raise ValueError(f"{len(invoices)} invoices in one batch, at most {self.max_batch}")
        return [self._create(tenant_id, invoice, settings) for invoice in invoices]

    def update_invoice(
        self,
        tenant_id: str,
        current: LedgerInvoice,
        invoice: CanonicalInvoice,
        settings: TenantSettings,
    ) -> WriteOutcome:
        destination_id = current.destination_id
        stored = self._invoices[tenant_id][destination_id]
        paid = stored.total - stored.amount_due
        frozen = stored.status not in EDITABLE_STATUSES and (
            stored.status != "AUTHORISED" or paid != 0
        )
        if self.destination is Destination.XERO and frozen:
            reason = (
                f"Keap changed invoice {invoice.invoice_number}, but it is {stored.status} and "
                "can no longer be edited; change it by hand"
            )
            return WriteOutcome(WriteStatus.REFUSED, destination_id, stored.status, reason=reason)
        stored.total, stored.amount_due = invoice.totals.total, invoice.totals.total - paid
        stored.edits += 1
        return WriteOutcome(WriteStatus.WRITTEN, destination_id, stored.status)

    def invoice_state(self, tenant_id: str, destination_id: str) -> LedgerInvoice:
        return self._state(self._invoices[tenant_id][destination_id])

    def apply_payment(
        self,
        tenant_id: str,
        invoice: LedgerInvoice,
        payment: CanonicalPayment,
        settings: TenantSettings,
    ) -> WriteOutcome:
        stored = self._invoices[tenant_id][invoice.destination_id]
        if stored.status != APPROVED[self.destination]:
            return WriteOutcome(WriteStatus.REJECTED, reason="the invoice is not approved")
        if payment.amount > stored.amount_due:
            return WriteOutcome(WriteStatus.REJECTED, reason="the payment exceeds the amount due")
        payment_id = self._new_id("pay")
        stored.payments[payment.keap_payment_id] = payment_id
        stored.amount_due -= payment.amount
        return WriteOutcome(WriteStatus.WRITTEN, payment_id, "AUTHORISED")

    def record_refund(
        self,
        tenant_id: str,
        invoice: LedgerInvoice,
        refund: CanonicalPayment,
        settings: TenantSettings,
    ) -> WriteOutcome:
        refunds = self._refunds.setdefault(tenant_id, {})
        existing = refunds.get(refund.keap_payment_id)
        if existing is not None:  # its number is taken: the document is already there
            return WriteOutcome(WriteStatus.DUPLICATE_NUMBER, existing.destination_id, "PAID")
        document = StoredRefund(
            self._new_id("refund"), refund.keap_payment_id, invoice.destination_id, refund.amount
        )
        refunds[refund.keap_payment_id] = document
        return WriteOutcome(WriteStatus.WRITTEN, document.destination_id, "PAID")

    def void_invoice(self, tenant_id: str, current: LedgerInvoice, *, delete: bool) -> WriteOutcome:
        stored = self._invoices[tenant_id][current.destination_id]
        if stored.total != stored.amount_due:
            return WriteOutcome(WriteStatus.REJECTED, reason="a payment is applied to it")
        self.take_out(tenant_id, stored.destination_id, "DELETED" if delete else "VOIDED")
        return WriteOutcome(WriteStatus.WRITTEN, stored.destination_id, stored.status)

    # -- what tests look at or do to the ledger ------------------------------------------------

    def invoices(self, tenant_id: str) -> list[StoredInvoice]:
        return list(self._invoices.get(tenant_id, {}).values())

    def refunds(self, tenant_id: str) -> list[StoredRefund]:
        return list(self._refunds.get(tenant_id, {}).values())

    def add_own_invoice(self, tenant_id: str, number: str, total: str) -> StoredInvoice:
        """An invoice the company raised itself before InvoiceSync: no marker of ours."""
        stored = StoredInvoice(
            destination_id=self._new_id("theirs"),
            number=number,
            status=APPROVED[self.destination],
            total=Decimal(total),
            amount_due=Decimal(total),
            contact_id="contact-walk-in",
            note="Raised in the ledger",
        )
        self._invoices.setdefault(tenant_id, {})[stored.destination_id] = stored
        return stored

    def take_out(self, tenant_id: str, destination_id: str, status: str = "VOIDED") -> None:
        """A void (or delete) as the ledger keeps it: the number stays taken, nothing is due."""
        stored = self._invoices[tenant_id][destination_id]
        stored.status, stored.amount_due = status, Decimal("0")
        if self.destination is Destination.QBO:
            stored.note = f"Voided - {stored.note}"

    def approve(self, tenant_id: str, destination_id: str) -> None:
        """What a bookkeeper does in the ledger: a DRAFT invoice becomes approved."""
        self._invoices[tenant_id][destination_id].status = APPROVED[self.destination]

    # -- inside ------------------------------------------------------------------------------

    def _create(
        self, tenant_id: str, invoice: CanonicalInvoice, settings: TenantSettings
    ) -> WriteOutcome:
        invoices = self._invoices.setdefault(tenant_id, {})
        taken = any(stored.number == invoice.invoice_number for stored in invoices.values())
        if taken and self.rejects_duplicate_numbers:
            return WriteOutcome(WriteStatus.DUPLICATE_NUMBER, reason="number must be unique")
        status = (
            settings.xero.invoice_status.value
            if self.destination is Destination.XERO
            else APPROVED[self.destination]
        )
        stored = StoredInvoice(
            destination_id=self._new_id("inv"),
            number=invoice.invoice_number,
            status=status,
            total=invoice.totals.total,
            amount_due=invoice.totals.total,
            contact_id=f"contact-{invoice.contact.keap_id}",
            note=(
                qbo_invoice_marker(invoice)
                if self.destination is Destination.QBO
                else xero_invoice_marker(invoice)
            ),
        )
        invoices[stored.destination_id] = stored
        return WriteOutcome(WriteStatus.WRITTEN, stored.destination_id, status)

    def _state(self, stored: StoredInvoice) -> LedgerInvoice:
        return LedgerInvoice(
            destination_id=stored.destination_id,
            number=stored.number,
            status=stored.status,
            total=stored.total,
            amount_due=stored.amount_due,
            accepts_payments=stored.status == APPROVED[self.destination],
            recorded_payment_ids=frozenset(stored.payments),
            contact_id=stored.contact_id,
            amount_paid=stored.total - stored.amount_due,
            note=stored.note,
        )

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"
