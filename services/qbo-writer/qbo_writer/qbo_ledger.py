"""QuickBooks Online as a `LedgerWriter`: batched invoice creates, sparse updates, payments,
refund receipts. The writer flow decides what to write; this module only says how in QBO."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from invoicesync.clients.qbo import BatchItem, QboClient, QboFaulted, QboInvoice
from invoicesync.domain.canonical import CanonicalInvoice, CanonicalPayment, Destination
from invoicesync.domain.canonical_to_qbo import (
    QboMappingError,
    qbo_payment_from_canonical,
    qbo_refund_receipt_from_refund,
    qbo_request_id,
)
from invoicesync.domain.content_hash import request_body_digest
from invoicesync.domain.money import to_cents
from invoicesync.domain.payment_to_ledger import LedgerInvoice
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import Transient
from invoicesync.writing.ledger import WriteOutcome, WriteStatus
from invoicesync.writing.qbo_documents import qbo_invoice_document

log = logging.getLogger(__name__)

QBO_MAX_BATCH = 30
_TXN_ID = re.compile(r"TxnId=(\w+)")
# A batch item failing this way is QBO's trouble, not the invoice's: the run is retried
# (same requestid, so what did get written is replayed, not duplicated).
_SERVER_FAULT_TYPES = frozenset({"systemfault", "service"})


@dataclass(frozen=True)
class _Prepared:
    invoice: CanonicalInvoice
    body: dict | None
    rejected: WriteOutcome | None = None


class QboLedgerWriter:
    destination = Destination.QBO
    # QBO answers a second DocNumber with 6140: create first, adopt on the duplicate.
    rejects_duplicate_numbers = True
    max_batch = QBO_MAX_BATCH

    def __init__(self, client: QboClient) -> None:
        self._qbo = client
        self._customers_by_invoice: dict[tuple[str, str], str] = {}

    # -- invoices --------------------------------------------------------------------------

    def find_invoices_by_number(
        self, tenant_id: str, numbers: Sequence[str]
    ) -> Mapping[str, LedgerInvoice]:
        found = self._qbo.find_invoices_by_doc_numbers(tenant_id, list(numbers))
        answer = {}
        for number in numbers:
            invoice = found.get(number.strip().casefold())
            if invoice is not None:
                answer[number] = self._ledger_invoice(tenant_id, invoice, read_payments=False)
        return answer

    def create_invoices(
        self, tenant_id: str, invoices: Sequence[CanonicalInvoice], settings: TenantSettings
    ) -> list[WriteOutcome]:
        prepared = [self._prepare(tenant_id, invoice, settings) for invoice in invoices]
        outcomes = [p.rejected for p in prepared]
        writable = [index for index, p in enumerate(prepared) if p.body is not None]
        if len(writable) == 1:  # one POST /invoice: no batch quota spent, lower latency
            outcomes[writable[0]] = self._create_one(tenant_id, prepared[writable[0]])
            writable = []
        for start in range(0, len(writable), QBO_MAX_BATCH):
            chunk = writable[start : start + QBO_MAX_BATCH]
            answers = self._create_batch(tenant_id, [prepared[index] for index in chunk])
            for index, outcome in zip(chunk, answers, strict=True):
                outcomes[index] = outcome
        return [outcome or WriteOutcome(WriteStatus.REJECTED) for outcome in outcomes]

    def update_invoice(
        self,
        tenant_id: str,
        current: LedgerInvoice,
        invoice: CanonicalInvoice,
        settings: TenantSettings,
    ) -> WriteOutcome:
        destination_id = current.destination_id
        prepared = self._prepare(tenant_id, invoice, settings)
        if prepared.body is None:
            return prepared.rejected or WriteOutcome(WriteStatus.REJECTED)
        rid = qbo_request_id(
            tenant_id,
            invoice.keap_invoice_id,
            request_body_digest(invoice.content_hash, prepared.body),
            operation="update",
        )
        try:
            updated = self._qbo.update_invoice(tenant_id, destination_id, prepared.body, rid)
        except QboFaulted as fault:
            return _rejected(fault)
        return _written(updated.id, updated.total, invoice)

    def invoice_state(self, tenant_id: str, destination_id: str) -> LedgerInvoice:
        invoice = self._qbo.read_invoice(tenant_id, destination_id)
        return self._ledger_invoice(tenant_id, invoice, read_payments=True)

    # -- payments --------------------------------------------------------------------------

    def apply_payment(
        self,
        tenant_id: str,
        invoice: LedgerInvoice,
        payment: CanonicalPayment,
        settings: TenantSettings,
    ) -> WriteOutcome:
        body = qbo_payment_from_canonical(
            payment,
            invoice.destination_id,
            self._customer_of(tenant_id, invoice),
            settings.qbo.deposit_account_id,
        )
        if payment.amount > invoice.amount_due:
            # Overpayments the tenant keeps: QBO applies what is due, the rest is credit.
            body["Line"][0]["Amount"] = invoice.amount_due
        rid = qbo_request_id(
            tenant_id,
            payment.keap_payment_id,
            request_body_digest(payment.content_hash, body),
            operation="payment",
        )
        try:
            created = self._qbo.create_payment(tenant_id, body, rid)
        except QboFaulted as fault:
            return _rejected(fault)
        return WriteOutcome(WriteStatus.WRITTEN, created.id)

    def record_refund(
        self,
        tenant_id: str,
        invoice: LedgerInvoice,
        refund: CanonicalPayment,
        settings: TenantSettings,
    ) -> WriteOutcome:
        account = settings.qbo.deposit_account_id or self._bank_account(tenant_id)
        try:
            body = qbo_refund_receipt_from_refund(
                refund,
                invoice.number,
                self._customer_of(tenant_id, invoice),
                account,
                settings.qbo,
                self._qbo.company(tenant_id).us_tax_model,
            )
        except QboMappingError as exc:
            return WriteOutcome(WriteStatus.REJECTED, reason=str(exc))
        rid = qbo_request_id(
            tenant_id,
            refund.keap_payment_id,
            request_body_digest(refund.content_hash, body),
            operation="refund",
        )
        try:
            created = self._qbo.create_refund_receipt(tenant_id, body, rid)
        except QboFaulted as fault:
            existing = _TXN_ID.search(fault.detail) if fault.code == "6140" else None
            if existing is not None:  # an earlier run's receipt holds the number: adopt it
                return WriteOutcome(WriteStatus.DUPLICATE_NUMBER, existing.group(1))
            return _rejected(fault)
        return WriteOutcome(WriteStatus.WRITTEN, created.id)

    # -- how -------------------------------------------------------------------------------

    def void_invoice(self, tenant_id: str, current: LedgerInvoice, *, delete: bool) -> WriteOutcome:
        rid = qbo_request_id(tenant_id, current.destination_id, "", operation="void")
        try:
            voided = self._qbo.void_invoice(tenant_id, current.destination_id, rid)
        except QboFaulted as fault:
            return _rejected(fault)
        return WriteOutcome(WriteStatus.WRITTEN, voided.id, "VOIDED")

    def _prepare(
        self, tenant_id: str, invoice: CanonicalInvoice, settings: TenantSettings
    ) -> _Prepared:
        try:
            body = qbo_invoice_document(
                self._qbo,
                tenant_id,
                invoice,
                settings.qbo,
                lambda contact: self._qbo.customer_for(tenant_id, contact),
            )
        except QboMappingError as exc:
            return _Prepared(invoice, None, WriteOutcome(WriteStatus.REJECTED, reason=str(exc)))
        except QboFaulted as fault:  # the customer could not be created
            return _Prepared(invoice, None, _rejected(fault))
        return _Prepared(invoice, body)

    def _create_one(self, tenant_id: str, prepared: _Prepared) -> WriteOutcome:
        invoice, body = prepared.invoice, prepared.body
        assert body is not None
        rid = qbo_request_id(
            tenant_id, invoice.keap_invoice_id, request_body_digest(invoice.content_hash, body)
        )
        try:
            created = self._qbo.create_invoice(tenant_id, body, rid)
        except QboFaulted as fault:
            return _rejected(fault)
        if created.adopted:
            return WriteOutcome(WriteStatus.DUPLICATE_NUMBER, created.id, reason="number taken")
        return _written(created.id, created.total, invoice)

    def _create_batch(self, tenant_id: str, chunk: list[_Prepared]) -> list[WriteOutcome]:
        items = [
            BatchItem(
                "Invoice",
                p.body or {},
                qbo_request_id(
                    tenant_id,
                    p.invoice.keap_invoice_id,
                    request_body_digest(p.invoice.content_hash, p.body or {}),
                ),
            )
            for p in chunk
        ]
        outcomes = []
        for prepared, result in zip(chunk, self._qbo.batch(tenant_id, items), strict=True):
            fault = result.fault
            if fault is None and result.entity is not None:
                entity = result.entity
                total = Decimal(str(entity.get("TotalAmt", "0")))
                outcomes.append(_written(str(entity["Id"]), total, prepared.invoice))
            elif fault is not None and fault.code == "6140":
                outcomes.append(WriteOutcome(WriteStatus.DUPLICATE_NUMBER, reason=str(fault)))
            elif _server_fault(result.raw):
                raise Transient(f"QBO batch item failed on QBO's side: {fault}")
            else:
                outcomes.append(_rejected(fault))
        return outcomes

    def _ledger_invoice(
        self, tenant_id: str, invoice: QboInvoice, *, read_payments: bool
    ) -> LedgerInvoice:
        self._customers_by_invoice[(tenant_id, invoice.id)] = invoice.customer_id
        recorded: frozenset[str] = frozenset()
        if read_payments and invoice.payment_ids:
            recorded = frozenset(self._qbo.payment_refs(tenant_id, invoice.payment_ids))
        return LedgerInvoice(
            destination_id=invoice.id,
            number=invoice.doc_number,
            status="Paid" if invoice.balance == 0 and invoice.total > 0 else "Open",
            total=invoice.total,
            amount_due=invoice.balance,
            accepts_payments=True,  # QBO has no approval step
            recorded_payment_ids=recorded,
            amount_paid=invoice.total - invoice.balance,
            note=invoice.private_note,
        )

    def _customer_of(self, tenant_id: str, invoice: LedgerInvoice) -> str:
        known = self._customers_by_invoice.get((tenant_id, invoice.destination_id))
        if known is None:
            known = self._qbo.read_invoice(tenant_id, invoice.destination_id).customer_id
        return known

    def _bank_account(self, tenant_id: str) -> str:
        banks = [a for a in self._qbo.accounts(tenant_id) if a.account_type == "Bank"]
        return banks[0].id if banks else ""


def _written(invoice_id: str, qbo_total: Decimal, invoice: CanonicalInvoice) -> WriteOutcome:
    """Written; when QBO's own tax computation (non-US VAT, rounded per rate) makes its total
    differ from Keap's, the activity line says by how much instead of hiding it."""
    keap_total = to_cents(invoice.totals.total, invoice.currency)
    notes: tuple[str, ...] = ()
    if qbo_total != keap_total:
        notes = (
            f"QBO's total {qbo_total} differs from Keap's {keap_total}: QBO computes the tax "
            "from each line's tax code and rounds it its own way",
        )
    return WriteOutcome(WriteStatus.WRITTEN, invoice_id, notes=notes)


def _rejected(fault: QboFaulted | None) -> WriteOutcome:
    reason = f"QBO refused it: {fault}" if fault is not None else "QBO answered nothing for it"
    return WriteOutcome(WriteStatus.REJECTED, reason=reason)


def _server_fault(raw: Mapping) -> bool:
    fault = raw.get("Fault") or {}
    return str(fault.get("type", "")).lower() in _SERVER_FAULT_TYPES
