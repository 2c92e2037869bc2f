"""The Xero LedgerWriter: canonical invoices and payments written through the Xero client."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

from invoicesync.clients.xero import XeroClient, XeroElementResult
from invoicesync.domain.canonical import CanonicalInvoice, CanonicalPayment, Destination
from invoicesync.domain.canonical_to_xero import (
    xero_credit_note_from_refund,
    xero_credit_note_refund_payment,
    xero_idempotency_key,
    xero_payment_from_canonical,
    xero_refund_split,
)
from invoicesync.domain.content_hash import request_body_digest
from invoicesync.domain.money import to_cents
from invoicesync.domain.payment_to_ledger import LedgerInvoice
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.writing.ledger import WriteOutcome, WriteStatus
from invoicesync.writing.xero_documents import xero_invoice_document, xero_reference
from xero_writer.xero_contacts import XeroContacts

log = logging.getLogger(__name__)

GONE_STATUSES = frozenset({"DELETED", "VOIDED"})
DUPLICATE_NUMBER = "must be unique"
_KEAP_PAYMENT_REFERENCE = re.compile(r"^Keap (?:payment|refund) (\S+)")


class XeroLedger:
    destination = Destination.XERO
    rejects_duplicate_numbers = True  # ACCREC numbers are unique per organisation
    max_batch = 50

    def __init__(self, client: XeroClient, contacts: XeroContacts) -> None:
        self._client = client
        self._contacts = contacts

    def find_invoices_by_number(
        self, tenant_id: str, numbers: Sequence[str]
    ) -> Mapping[str, LedgerInvoice]:
        found = {}
        for row in self._client.invoices_by_numbers(tenant_id, numbers):
            if row.get("Type") == "ACCREC" and row.get("Status") not in GONE_STATUSES:
                found[row["InvoiceNumber"]] = _ledger_invoice(row)
        return found

    def create_invoices(
        self, tenant_id: str, invoices: Sequence[CanonicalInvoice], settings: TenantSettings
    ) -> list[WriteOutcome]:
        bodies = self._bodies(tenant_id, invoices, settings)
        key = xero_idempotency_key(
            tenant_id,
            ",".join(invoice.keap_invoice_id for invoice in invoices),
            request_body_digest(*(i.content_hash for i in invoices), *(b for b, _ in bodies)),
            operation="invoice-batch",
        )
        results = self._client.create_invoices(tenant_id, [body for body, _ in bodies], key)
        return [
            _invoice_outcome(result, invoice, notes)
            for result, invoice, (_, notes) in zip(results, invoices, bodies, strict=True)
        ]

    def update_invoice(
        self,
        tenant_id: str,
        current: LedgerInvoice,
        invoice: CanonicalInvoice,
        settings: TenantSettings,
    ) -> WriteOutcome:
        [(body, notes)] = self._bodies(tenant_id, [invoice], settings)
        # An edit never approves (nor un-approves) the invoice behind the user's back. Lines
        # go without LineItemIDs on purpose: Keap's lines replace Xero's.
        body["Status"] = current.status
        key = xero_idempotency_key(
            tenant_id,
            invoice.keap_invoice_id,
            request_body_digest(invoice.content_hash, body),
            operation="invoice-update",
        )
        result = self._client.update_invoice(tenant_id, current.destination_id, body, key)
        return _invoice_outcome(result, invoice, notes)

    def invoice_state(self, tenant_id: str, destination_id: str) -> LedgerInvoice:
        return _ledger_invoice(self._client.get_invoice(tenant_id, destination_id))

    def apply_payment(
        self,
        tenant_id: str,
        invoice: LedgerInvoice,
        payment: CanonicalPayment,
        settings: TenantSettings,
    ) -> WriteOutcome:
        element = xero_payment_from_canonical(
            payment, invoice.destination_id, settings.xero.payment_account_code
        )
        key = xero_idempotency_key(
            tenant_id,
            payment.keap_payment_id,
            request_body_digest(payment.content_hash, element),
            operation="payment",
        )
        [result] = self._client.create_payments(tenant_id, [element], key)
        return _payment_outcome(result, "PaymentID")

    def record_refund(
        self,
        tenant_id: str,
        invoice: LedgerInvoice,
        refund: CanonicalPayment,
        settings: TenantSettings,
    ) -> WriteOutcome:
        """A credit note for the refund, its cash paid back out of it (Xero's own equivalent).

        The credit note's number derives from the refund, so a replay that comes after the
        Idempotency-Key window (and after the id map was lost) meets "Credit Note # must be
        unique" and adopts the credit note instead of failing or creating a second one."""
        note = xero_credit_note_from_refund(
            refund, invoice.number, invoice.contact_id, settings.xero
        )
        key = xero_idempotency_key(
            tenant_id,
            refund.keap_payment_id,
            request_body_digest(refund.content_hash, note),
            operation="credit-note",
        )
        [created] = self._client.create_credit_notes(tenant_id, [note], key)
        if created.ok:
            return self._pay_out(tenant_id, refund, created.element, settings, adopted=False)
        if any(DUPLICATE_NUMBER in message for message in created.messages):
            for existing in self._client.credit_notes_by_number(
                tenant_id, note["CreditNoteNumber"]
            ):
                if existing.get("Status") not in GONE_STATUSES:
                    return self._pay_out(tenant_id, refund, existing, settings, adopted=True)
        return WriteOutcome(
            WriteStatus.REJECTED,
            reason="Xero refused the credit note: " + "; ".join(created.messages),
        )

    def _pay_out(
        self,
        tenant_id: str,
        refund: CanonicalPayment,
        credit_note: Mapping,
        settings: TenantSettings,
        *,
        adopted: bool,
    ) -> WriteOutcome:
        """Pay the refund's cash out of its credit note, unless that payment is already there."""
        credit_note_id = str(credit_note["CreditNoteID"])
        split = xero_refund_split(refund, Decimal("0.00"))
        reference = f"Keap refund {refund.keap_payment_id}"
        paid_already = any(
            p.get("Reference") == reference and p.get("Status", "AUTHORISED") != "DELETED"
            for p in credit_note.get("Payments") or []
        )
        if split.pay_out > 0 and not paid_already:
            element = xero_credit_note_refund_payment(
                refund, credit_note_id, settings.xero.payment_account_code, split.pay_out
            )
            key = xero_idempotency_key(
                tenant_id,
                refund.keap_payment_id,
                request_body_digest(refund.content_hash, element),
                operation="refund-payment",
            )
            [paid] = self._client.create_payments(tenant_id, [element], key)
            if not paid.ok:
                return WriteOutcome(
                    WriteStatus.REJECTED,
                    credit_note_id,
                    reason="credit note created, refund payment refused: "
                    + "; ".join(paid.messages),
                )
            if adopted:
                note = "credit note found by its number; its cash refund was missing and is paid"
                return WriteOutcome(WriteStatus.WRITTEN, credit_note_id, "PAID", notes=(note,))
        if adopted:
            return WriteOutcome(
                WriteStatus.DUPLICATE_NUMBER, credit_note_id, str(credit_note.get("Status", ""))
            )
        return WriteOutcome(WriteStatus.WRITTEN, credit_note_id, "AUTHORISED")

    def void_invoice(self, tenant_id: str, current: LedgerInvoice, *, delete: bool) -> WriteOutcome:
        status = "DELETED" if delete else "VOIDED"
        body = {"InvoiceNumber": current.number, "Status": status}
        key = xero_idempotency_key(
            tenant_id, current.destination_id, request_body_digest(body), operation="void"
        )
        result = self._client.update_invoice(tenant_id, current.destination_id, body, key)
        if result.ok:
            return WriteOutcome(WriteStatus.WRITTEN, current.destination_id, status)
        reason = "; ".join(result.messages)
        return WriteOutcome(WriteStatus.REJECTED, reason=f"Xero refused the {status}: {reason}")

    def _bodies(
        self, tenant_id: str, invoices: Sequence[CanonicalInvoice], settings: TenantSettings
    ) -> list[tuple[dict, tuple[str, ...]]]:
        contact_ids = self._contacts.contact_ids(tenant_id, [i.contact for i in invoices])
        reference = xero_reference(self._client, tenant_id, settings.xero)
        bodies = []
        for invoice in invoices:
            body, notes = xero_invoice_document(
                invoice, settings.xero, contact_ids[invoice.contact.keap_id], reference
            )
            for note in notes:
                log.info(
                    "xero totals reconciled",
                    extra={"tenant_id": tenant_id, "invoice": invoice.invoice_number, "note": note},
                )
            bodies.append((body, notes))
        return bodies


def _ledger_invoice(row: Mapping) -> LedgerInvoice:
    recorded = {}
    for payment in row.get("Payments") or []:
        match = _KEAP_PAYMENT_REFERENCE.match(payment.get("Reference") or "")
        if match:
            recorded[match.group(1)] = str(payment.get("PaymentID", ""))
    return LedgerInvoice(
        destination_id=row["InvoiceID"],
        number=row.get("InvoiceNumber", ""),
        status=row.get("Status", ""),
        total=Decimal(str(row.get("Total", "0"))),
        amount_due=Decimal(str(row.get("AmountDue", "0"))),
        accepts_payments=row.get("Status") == "AUTHORISED",
        recorded_payment_ids=frozenset(recorded),
        contact_id=str((row.get("Contact") or {}).get("ContactID", "")),
        amount_paid=Decimal(str(row.get("AmountPaid", "0"))),
        amount_credited=Decimal(str(row.get("AmountCredited", "0"))),
        note=str(row.get("Reference") or ""),
    )


def _invoice_outcome(
    result: XeroElementResult, invoice: CanonicalInvoice, notes: tuple[str, ...]
) -> WriteOutcome:
    if result.ok:
        element = result.element
        total = Decimal(str(element.get("Total", "0")))
        keap_total = to_cents(invoice.totals.total, invoice.currency)
        if total != keap_total:
            notes += (f"Xero's total {total} differs from Keap's {keap_total}",)
        return WriteOutcome(
            WriteStatus.WRITTEN, element["InvoiceID"], element.get("Status", ""), notes=notes
        )
    reason = "; ".join(result.messages)
    if any(DUPLICATE_NUMBER in message for message in result.messages):
        return WriteOutcome(WriteStatus.DUPLICATE_NUMBER, reason=reason)
    return WriteOutcome(WriteStatus.REJECTED, reason=f"Xero refused the invoice: {reason}")


def _payment_outcome(result: XeroElementResult, id_field: str) -> WriteOutcome:
    if result.ok:
        return WriteOutcome(WriteStatus.WRITTEN, result.element[id_field], "AUTHORISED")
    return WriteOutcome(
        WriteStatus.REJECTED, reason="Xero refused the payment: " + "; ".join(result.messages)
    )
