"""The writer flow every destination shares: canonical events in, ledger writes and results out.

Invoices of a run are created in batches; a mapping (Redis + ledger topic) is written after
every durable create or update, and a writer that finds no mapping relies on the ledger's
invoice numbers (adopting what an earlier, interrupted run already created), so replays and a
lost Redis never duplicate anything. Payments wait (held) while their invoice cannot take them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Destination,
)
from invoicesync.domain.content_hash import content_hash
from invoicesync.domain.invoice_edits import EditAction, invoice_edit_decision
from invoicesync.domain.invoice_voids import VoidAction, void_decision
from invoicesync.domain.ledger_numbers import (
    NumberAction,
    existing_number_decision,
    ledger_invoice_number,
)
from invoicesync.domain.payment_to_ledger import (
    LedgerInvoice,
    PaymentAction,
    PaymentDecision,
    payment_decision,
)
from invoicesync.domain.sync_rules import SkipReason, skip_zero_total
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import Disconnected
from invoicesync.events import Envelope, EventType, LedgerInvoiceVoid, SyncAction, payload_of
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.id_map import TO_REISSUE, MappedId
from invoicesync.writing.flow_stores import IdMapping, PaymentsOnHold, TenantSettingsSource
from invoicesync.writing.ledger import LedgerWriter, WriteOutcome, WriteStatus
from invoicesync.writing.outcomes import INVOICE, PAYMENT, sync_result

log = logging.getLogger(__name__)

HELD_RECHECK_AFTER = timedelta(minutes=5)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _TenantRun:
    tenant_id: str
    settings: TenantSettings
    outgoing: list[Outgoing] = field(default_factory=list)
    pending: list[CanonicalInvoice] = field(default_factory=list)
    # Keap invoice id → its ledger number, where a reissue gave it one of its own.
    ledger_numbers: dict[str, str] = field(default_factory=dict)
    # Mappings of a batch of creates, stored together once the batch is written (None: at once).
    batched_mappings: dict[str, MappedId] | None = None


class CanonicalEventWriter:
    def __init__(
        self,
        destination: Destination,
        ledger: LedgerWriter,
        id_map: IdMapping,
        tenants: TenantSettingsSource,
        held_payments: PaymentsOnHold,
        clock: Callable[[], datetime] = _utc_now,
        *,
        held_recheck_after: timedelta = HELD_RECHECK_AFTER,
    ) -> None:
        self._destination = destination
        self._ledger = ledger
        self._id_map = id_map
        self._tenants = tenants
        self._held = held_payments
        self._clock = clock
        self._recheck_after = held_recheck_after

    @property
    def destination(self) -> Destination:
        return self._destination

    def handle(self, envelopes: Sequence[Envelope]) -> list[Outgoing]:
        """A run of canonical events (the loop gives one tenant's, in order) → results."""
        outgoing: list[Outgoing] = []
        for tenant_id, run in _by_tenant(envelopes):
            settings = self._tenants.settings(tenant_id)  # UnknownTenant: dead-lettered
            if settings.destination is not self._destination:
                continue
            outgoing += self._handle_tenant(_TenantRun(tenant_id, settings), run)
        return outgoing

    def sweep_held_payments(self, owns_tenant: Callable[[str], bool]) -> list[Outgoing]:
        """Re-check the held payments of every tenant this consumer owns (a PeriodicTask), so a
        payment waiting for its invoice's approval is applied without waiting for a new event."""
        outgoing: list[Outgoing] = []
        for tenant_id in self._held.tenants(self._destination.value):
            if owns_tenant(tenant_id):
                outgoing.extend(self.recheck_held_payments(tenant_id))
        return outgoing

    def recheck_held_payments(self, tenant_id: str) -> list[Outgoing]:
        """Apply the tenant's held payments whose invoice now takes them (a periodic sweep)."""
        settings = self._settings_for(tenant_id)
        if settings is None or settings.destination is not self._destination:
            return []
        return self._handle_tenant(_TenantRun(tenant_id, settings), [])

    # -- one tenant ------------------------------------------------------------------------

    def _handle_tenant(self, run: _TenantRun, envelopes: Sequence[Envelope]) -> list[Outgoing]:
        try:
            for envelope in envelopes:
                if envelope.type is EventType.INVOICE_CANONICALISED:
                    invoice: CanonicalInvoice = payload_of(envelope)
                    if any(p.keap_invoice_id == invoice.keap_invoice_id for p in run.pending):
                        self._flush_creates(run)
                    self._invoice(run, invoice)
                elif envelope.type is EventType.PAYMENT_CANONICALISED:
                    self._flush_creates(run)  # a payment never overtakes its invoice
                    self._payment(run, payload_of(envelope), from_hold=False)
                elif envelope.type is EventType.LEDGER_INVOICE_VOID_REQUESTED:
                    self._flush_creates(run)
                    self._void(run, payload_of(envelope))
            self._flush_creates(run)
            for payment in self._held.due(run.tenant_id, self._destination.value, self._clock()):
                self._payment(run, payment, from_hold=True)
        except Disconnected as exc:
            log.warning("destination disconnected", extra={"tenant_id": run.tenant_id})
            reason = (
                f"{self._destination.value} connection lost ({exc}); reconnecting it syncs "
                "these again"
            )
            return run.outgoing + [
                self._result(run, _object_type(e), _keap_id(e), SyncAction.FAILED, reason)
                for e in envelopes
            ]
        return run.outgoing

    # -- invoices --------------------------------------------------------------------------

    def _invoice(self, run: _TenantRun, invoice: CanonicalInvoice) -> None:
        number = ledger_invoice_number(
            invoice.invoice_number, run.settings.sync.invoice_number_prefix
        )
        invoice = replace(invoice, invoice_number=number)
        skip = skip_zero_total(invoice, run.settings.sync)
        if skip is not None:
            self._invoice_result(run, invoice, SyncAction.SKIPPED, skip.summary, code=skip.reason)
            return
        mapped = self._id_map.get(
            run.tenant_id, self._destination.value, INVOICE, invoice.keap_invoice_id
        )
        if mapped is not None and mapped.ledger_number:
            invoice = replace(invoice, invoice_number=mapped.ledger_number)
            run.ledger_numbers[invoice.keap_invoice_id] = mapped.ledger_number
        if mapped is None or mapped.destination_status == TO_REISSUE:
            run.pending.append(invoice)
            if len(run.pending) >= self._ledger.max_batch:
                self._flush_creates(run)
            return
        if mapped.content_hash in (invoice.content_hash, ledger_content_hash(invoice)):
            self._invoice_result(
                run,
                invoice,
                SyncAction.SKIPPED,
                "already synced",
                mapped.destination_id,
                code=SkipReason.ALREADY_WRITTEN,
            )
            return
        if is_older_than_mapped(invoice, mapped):
            reason = (
                f"older than what the ledger has (Keap modified this copy at "
                f"{_version_of(invoice)}; the ledger has the copy of {mapped.keap_modified_at})"
            )
            self._invoice_result(run, invoice, SyncAction.SKIPPED, reason, mapped.destination_id)
            return
        current = self._ledger.invoice_state(run.tenant_id, mapped.destination_id)
        self._update(run, invoice, current, mapped)

    def _update(
        self,
        run: _TenantRun,
        invoice: CanonicalInvoice,
        current: LedgerInvoice,
        mapped: MappedId | None = None,
    ) -> None:
        """Write Keap's edit unless the ledger's invoice can no longer take it (an exception)."""
        decision = invoice_edit_decision(self._destination, invoice.invoice_number, current)
        if decision.action is EditAction.REFUSE:
            reason = "exception: " + decision.reason
            self._invoice_result(run, invoice, SyncAction.FAILED, reason, current.destination_id)
            return
        outcome = self._ledger.update_invoice(run.tenant_id, current, invoice, run.settings)
        self._after_write(run, invoice, outcome, SyncAction.UPDATED, current.destination_id, mapped)

    def _flush_creates(self, run: _TenantRun) -> None:
        if not run.pending:
            return
        invoices, run.pending = run.pending, []
        if not self._ledger.rejects_duplicate_numbers:
            invoices = self._adopt_existing(run, invoices)
        if not invoices:
            return
        outcomes = self._ledger.create_invoices(run.tenant_id, invoices, run.settings)
        duplicates = []
        run.batched_mappings = {}
        try:
            for invoice, outcome in zip(invoices, outcomes, strict=True):
                if outcome.status is WriteStatus.DUPLICATE_NUMBER:
                    duplicates.append(invoice)
                else:
                    self._after_write(run, invoice, outcome, SyncAction.CREATED, None)
        finally:
            # One ledger-topic batch and one Redis round trip for the batch's invoices.
            mappings, run.batched_mappings = run.batched_mappings, None
            self._id_map.put_many(run.tenant_id, self._destination.value, INVOICE, mappings)
        left = self._adopt_existing(run, duplicates) if duplicates else []
        for invoice in left:
            self._invoice_result(
                run, invoice, SyncAction.FAILED, "number taken, yet no invoice has it"
            )

    def _adopt_existing(
        self, run: _TenantRun, invoices: list[CanonicalInvoice]
    ) -> list[CanonicalInvoice]:
        """Map invoices the destination already has by number; returns the ones it has not."""
        found = self._ledger.find_invoices_by_number(
            run.tenant_id, [invoice.invoice_number for invoice in invoices]
        )
        missing = []
        for invoice in invoices:
            existing = found.get(invoice.invoice_number)
            if existing is None:
                missing.append(invoice)
                continue
            self._adopt(run, invoice, existing)
        return missing

    def _adopt(self, run: _TenantRun, invoice: CanonicalInvoice, existing: LedgerInvoice) -> None:
        """`existing` holds the invoice's number: ours (adopt or rewrite it) or the company's
        own (a number clash: reported, the document left alone)."""
        decision = existing_number_decision(self._destination, invoice, existing)
        if decision.action is NumberAction.CLASH:
            log.warning(
                "invoice number clash",
                extra={"tenant_id": run.tenant_id, "invoice": invoice.invoice_number},
            )
            self._invoice_result(
                run, invoice, SyncAction.FAILED, decision.reason, existing.destination_id
            )
        elif decision.action is NumberAction.ADOPT:
            self._map_invoice(run, invoice, existing.destination_id, existing.status)
            self._invoice_result(
                run,
                invoice,
                SyncAction.SKIPPED,
                decision.reason,
                existing.destination_id,
                code=SkipReason.ALREADY_IN_DESTINATION,
            )
        else:
            self._update(run, invoice, existing)

    def _after_write(
        self,
        run: _TenantRun,
        invoice: CanonicalInvoice,
        outcome: WriteOutcome,
        action: SyncAction,
        known_id: str | None,
        mapped: MappedId | None = None,
    ) -> None:
        destination_id = outcome.destination_id or known_id
        if outcome.written and destination_id:
            self._map_invoice(run, invoice, destination_id, outcome.destination_status, mapped)
            self._invoice_result(run, invoice, action, " ".join(outcome.notes), destination_id)
            return
        prefix = "exception: " if outcome.status is WriteStatus.REFUSED else ""
        self._invoice_result(
            run, invoice, SyncAction.FAILED, prefix + outcome.reason, destination_id
        )

    def _map_invoice(
        self,
        run: _TenantRun,
        invoice: CanonicalInvoice,
        destination_id: str,
        status: str,
        previous: MappedId | None = None,
    ) -> None:
        # A copy without a version keeps the version already known: never go backwards.
        version = _version_of(invoice) or (previous.keap_modified_at if previous else "")
        number = run.ledger_numbers.get(invoice.keap_invoice_id, "")
        mapped = MappedId(destination_id, ledger_content_hash(invoice), status, version, number)
        if run.batched_mappings is not None:
            run.batched_mappings[invoice.keap_invoice_id] = mapped
            return
        self._id_map.put(
            run.tenant_id, self._destination.value, INVOICE, invoice.keap_invoice_id, mapped
        )

    def _void(self, run: _TenantRun, request: LedgerInvoiceVoid) -> None:
        """Take out of the ledger the invoice of a Keap order since deleted (re-sync's ask)."""
        if request.destination != self._destination.value:
            return
        current = self._ledger.invoice_state(run.tenant_id, request.ledger_id)
        decision = void_decision(self._destination, request.keap_order_id, current)
        keap_id = request.keap_invoice_id or request.keap_order_id
        result = partial(self._result, run, INVOICE, keap_id, invoice_number=current.number)
        if decision.action is VoidAction.REFUSE:
            run.outgoing.append(result(SyncAction.FAILED, decision.reason, current.destination_id))
            return
        if decision.action is VoidAction.ALREADY_GONE:
            run.outgoing.append(result(SyncAction.SKIPPED, decision.reason, current.destination_id))
            return
        outcome = self._ledger.void_invoice(
            run.tenant_id, current, delete=decision.action is VoidAction.DELETE
        )
        if not outcome.written:
            run.outgoing.append(result(SyncAction.FAILED, outcome.reason, current.destination_id))
            return
        mapped = self._id_map.get(
            run.tenant_id, self._destination.value, INVOICE, request.keap_invoice_id
        )
        if mapped is not None and mapped.destination_id == current.destination_id:
            status = outcome.destination_status
            self._id_map.put(
                run.tenant_id,
                self._destination.value,
                INVOICE,
                request.keap_invoice_id,
                replace(mapped, destination_status=status),
            )
        done = "deleted" if decision.action is VoidAction.DELETE else "voided"
        reason = f"{done}: Keap order {request.keap_order_id} was deleted"
        run.outgoing.append(result(SyncAction.UPDATED, reason, current.destination_id))

    # -- payments --------------------------------------------------------------------------

    def _payment(self, run: _TenantRun, payment: CanonicalPayment, *, from_hold: bool) -> None:
        tenant_id, destination = run.tenant_id, self._destination.value
        done = self._id_map.get(tenant_id, destination, PAYMENT, payment.keap_payment_id)
        mapped = self._id_map.get(tenant_id, destination, INVOICE, payment.keap_invoice_id)
        decide = partial(
            payment_decision,
            payment,
            run.settings.sync,
            synced_as=done.destination_id if done else None,
            invoice_id=(
                mapped.destination_id
                if mapped and mapped.destination_status != TO_REISSUE
                else None
            ),
            rechecking=from_hold,
        )
        decision, invoice = decide(), None
        if decision.action is PaymentAction.READ_INVOICE:
            invoice = self._ledger.invoice_state(tenant_id, decision.destination_id)
            decision = decide(invoice=invoice)
        self._perform_payment(run, payment, decision, invoice)

    def _perform_payment(
        self,
        run: _TenantRun,
        payment: CanonicalPayment,
        decision: PaymentDecision,
        invoice: LedgerInvoice | None,
    ) -> None:
        tenant_id, destination, action = run.tenant_id, self._destination.value, decision.action
        if action is PaymentAction.HOLD:
            recheck_at = self._clock() + self._recheck_after
            self._held.hold(destination, payment, recheck_at, decision.reason)
            if decision.report:
                self._payment_result(run, payment, SyncAction.HELD, decision.reason)
            return
        outcome = None
        if invoice is not None and action is PaymentAction.APPLY:
            outcome = self._ledger.apply_payment(tenant_id, invoice, payment, run.settings)
        elif invoice is not None and action is PaymentAction.REFUND:
            outcome = self._ledger.record_refund(tenant_id, invoice, payment, run.settings)
        # Released only after the write: a write that raises leaves a held payment held.
        self._held.release(tenant_id, destination, payment.keap_payment_id)
        if outcome is not None:
            self._payment_written(run, payment, decision, outcome)
        elif action is PaymentAction.ADOPT:
            self._map_payment(run, payment, decision.destination_id)
            self._payment_result(
                run,
                payment,
                SyncAction.SKIPPED,
                decision.reason,
                code=SkipReason.ALREADY_IN_DESTINATION,
            )
        elif decision.report:
            self._payment_result(
                run,
                payment,
                SyncAction.SKIPPED,
                decision.reason,
                decision.destination_id or None,
                code=decision.reason_code,
            )

    def _payment_written(
        self,
        run: _TenantRun,
        payment: CanonicalPayment,
        decision: PaymentDecision,
        outcome: WriteOutcome,
    ) -> None:
        if outcome.status is WriteStatus.DUPLICATE_NUMBER and outcome.destination_id:
            # An earlier run wrote it (its mapping was lost): adopt, never write it twice.
            self._map_payment(run, payment, outcome.destination_id)
            reason = "already synced (found by its number)"
            self._payment_result(
                run,
                payment,
                SyncAction.SKIPPED,
                reason,
                outcome.destination_id,
                code=SkipReason.ALREADY_IN_DESTINATION,
            )
            return
        if outcome.written and outcome.destination_id:
            self._map_payment(run, payment, outcome.destination_id)
            reason = " ".join(filter(None, (decision.reason, *outcome.notes)))
            self._payment_result(run, payment, SyncAction.CREATED, reason, outcome.destination_id)
            return
        self._payment_result(run, payment, SyncAction.FAILED, outcome.reason)

    def _map_payment(self, run: _TenantRun, payment: CanonicalPayment, destination_id: str) -> None:
        self._id_map.put(
            run.tenant_id,
            self._destination.value,
            PAYMENT,
            payment.keap_payment_id,
            MappedId(destination_id, payment.content_hash),
        )

    # -- results ---------------------------------------------------------------------------

    def _invoice_result(
        self,
        run: _TenantRun,
        invoice: CanonicalInvoice,
        action: SyncAction,
        reason: str,
        destination_id: str | None = None,
        *,
        code: str = "",
    ) -> None:
        run.outgoing.append(
            self._result(
                run,
                INVOICE,
                invoice.keap_invoice_id,
                action,
                reason,
                destination_id,
                invoice.invoice_number,
                code=code,
            )
        )

    def _payment_result(
        self,
        run: _TenantRun,
        payment: CanonicalPayment,
        action: SyncAction,
        reason: str,
        destination_id: str | None = None,
        *,
        code: str = "",
    ) -> None:
        run.outgoing.append(
            self._result(
                run,
                PAYMENT,
                payment.keap_payment_id,
                action,
                reason,
                destination_id,
                invoice_number=payment.invoice_number or None,
                code=code,
            )
        )

    def _result(
        self,
        run: _TenantRun,
        object_type: str,
        keap_id: str,
        action: SyncAction,
        reason: str,
        destination_id: str | None = None,
        invoice_number: str | None = None,
        *,
        code: str = "",
    ) -> Outgoing:
        return sync_result(
            run.tenant_id,
            self._destination.value,
            object_type,
            keap_id,
            action,
            self._clock,
            reason=reason,
            destination_id=destination_id,
            invoice_number=invoice_number,
            reason_code=code,
        )

    def _settings_for(self, tenant_id: str) -> TenantSettings | None:
        try:
            return self._tenants.settings(tenant_id)
        except KeyError:
            log.warning("event for an unknown tenant ignored", extra={"tenant_id": tenant_id})
            return None


def _version_of(invoice: CanonicalInvoice) -> str:
    return invoice.keap_modified_at.isoformat() if invoice.keap_modified_at else ""


def is_older_than_mapped(invoice: CanonicalInvoice, mapped: MappedId) -> bool:
    """This copy was read from Keap before the one the ledger has: writing it would go back
    in time (a replayed dead letter, a late retry). Unknown on either side: not older."""
    if invoice.keap_modified_at is None or not mapped.keap_modified_at:
        return False
    try:
        written = datetime.fromisoformat(mapped.keap_modified_at)
    except ValueError:
        return False
    return invoice.keap_modified_at < written


def ledger_content_hash(invoice: CanonicalInvoice) -> str:
    """The hash of what the ledger's invoice is made of. Keap's paid and due amounts are left
    out: payments and refunds reach the ledger as documents of their own, so the invoice Keap
    re-reads after one of them is not an edit (an approved Xero invoice would call it one)."""
    unpaid = replace(invoice.totals, paid=Decimal("0"), due=Decimal("0"))
    return content_hash(replace(invoice, totals=unpaid))


def _by_tenant(envelopes: Sequence[Envelope]) -> list[tuple[str, list[Envelope]]]:
    runs: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        runs.setdefault(envelope.tenant_id, []).append(envelope)
    return list(runs.items())


def _object_type(envelope: Envelope) -> str:
    return PAYMENT if envelope.type is EventType.PAYMENT_CANONICALISED else INVOICE


def _keap_id(envelope: Envelope) -> str:
    if envelope.type is EventType.PAYMENT_CANONICALISED:
        return str(envelope.payload.get("keap_payment_id", ""))
    if envelope.type is EventType.LEDGER_INVOICE_VOID_REQUESTED:
        payload = envelope.payload
        return str(payload.get("keap_invoice_id") or payload.get("keap_order_id", ""))
    return str(envelope.payload.get("keap_invoice_id", ""))
