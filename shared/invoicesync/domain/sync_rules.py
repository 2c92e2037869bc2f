"""The seed product's sync rules: due dates, what is held, and what is skipped and why."""

from __future__ import annotations

import enum
from datetime import date, timedelta
from decimal import Decimal

from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    PaymentKind,
    PaymentPlan,
    SkipDecision,
)
from invoicesync.domain.keap_order import KeapOrder, KeapPayment, KeapSourceType
from invoicesync.domain.tenant_settings import StartPointKind, SyncSettings, TenantSettings

# ReverseSync writes this at the start of the note of every payment it records in Keap, so the
# forward sync can recognise its own echo (Keap's read models drop the external_* fields).
REVERSE_SYNC_NOTE_PREFIX = "InvoiceSync:"


class SkipReason(enum.StrEnum):
    BEFORE_START_POINT = "before_start_point"
    ZERO_TOTAL = "zero_total"
    NOT_PAID_YET = "not_paid_yet"
    ALREADY_SYNCED = "already_synced"
    UNCHANGED = "unchanged"
    QUICKBOOKS_SOURCE = "quickbooks_source"
    PAYMENTS_NOT_SYNCED = "payments_not_synced"
    OVERPAYMENT = "overpayment"
    REVERSE_SYNC_ECHO = "reverse_sync_echo"
    # Recorded by the writers and ReverseSync rather than decided here: a re-read of something
    # written before, found already in the destination, or already recorded in Keap.
    ALREADY_WRITTEN = "already_written"
    ALREADY_IN_DESTINATION = "already_in_destination"
    ALREADY_IN_KEAP = "already_in_keap"
    NOT_FOUND_IN_KEAP = "not_found_in_keap"


def due_date_for(
    invoice_date: date, paid_at_creation: bool, payment_plan: PaymentPlan | None, days: int
) -> date:
    """design.md §1.8: paid at creation → invoice date; a plan → its final payment date."""
    if paid_at_creation:
        return invoice_date
    if payment_plan is not None:
        return payment_plan.final_payment_date
    return invoice_date + timedelta(days=days)


def is_held(settings: TenantSettings) -> bool:
    """Processing off: work waits (it is not skipped) until the tenant switches it on."""
    return not settings.sync.processing_enabled


def is_reverse_sync_note(note: str | None) -> bool:
    return note is not None and note.lstrip().startswith(REVERSE_SYNC_NOTE_PREFIX)


def reverse_sync_note(text: str) -> str:
    """The note ReverseSync writes on a payment it records in Keap."""
    return f"{REVERSE_SYNC_NOTE_PREFIX} {text}"


def skip_quickbooks_source(order: KeapOrder) -> SkipDecision | None:
    """Orders Keap's own QuickBooks sync created: posting them again would loop or double."""
    if order.source_type is KeapSourceType.QUICKBOOKS:
        return SkipDecision(SkipReason.QUICKBOOKS_SOURCE, f"order {order.id} came from QuickBooks")
    return None


def skip_before_start_point(invoice: CanonicalInvoice, sync: SyncSettings) -> SkipDecision | None:
    start = sync.start_point
    if start.kind is StartPointKind.INVOICE_ID and start.invoice_id is not None:
        invoice_id = _as_int(invoice.keap_invoice_id)
        if invoice_id is not None and invoice_id < start.invoice_id:
            return SkipDecision(
                SkipReason.BEFORE_START_POINT,
                f"invoice {invoice_id} is before start invoice {start.invoice_id}",
            )
    on_date = start.on_date
    if start.kind is StartPointKind.DATE and on_date is not None and invoice.invoice_date < on_date:
        return SkipDecision(
            SkipReason.BEFORE_START_POINT, f"invoice dated {invoice.invoice_date}, before {on_date}"
        )
    return None


def skip_zero_total(invoice: CanonicalInvoice, sync: SyncSettings) -> SkipDecision | None:
    if sync.skip_zero_total and invoice.totals.total == 0:
        return SkipDecision(SkipReason.ZERO_TOTAL, "invoice total is zero")
    return None


def skip_until_paid(invoice: CanonicalInvoice, sync: SyncSettings) -> SkipDecision | None:
    """With payments synced 'only once paid', an invoice waits until nothing is due."""
    if sync.sync_payments and sync.only_when_paid and invoice.totals.due > 0:
        return SkipDecision(SkipReason.NOT_PAID_YET, f"{invoice.totals.due} still due")
    return None


def skip_already_synced(
    invoice: CanonicalInvoice, synced_hash: str | None, sync: SyncSettings
) -> SkipDecision | None:
    """`synced_hash` is the content hash recorded when this invoice was last written, if ever."""
    if synced_hash is None:
        return None
    if synced_hash == invoice.content_hash:
        return SkipDecision(SkipReason.UNCHANGED, "destination already has this content")
    if sync.skip_already_synced:
        return SkipDecision(SkipReason.ALREADY_SYNCED, "invoice was synced before")
    return None


def invoice_skip_decision(
    order: KeapOrder,
    invoice: CanonicalInvoice,
    settings: TenantSettings,
    synced_hash: str | None = None,
) -> SkipDecision | None:
    """The first rule that skips this invoice, in the order the product applies them."""
    sync = settings.sync
    return (
        skip_quickbooks_source(order)
        or skip_before_start_point(invoice, sync)
        or skip_zero_total(invoice, sync)
        or skip_until_paid(invoice, sync)
        or skip_already_synced(invoice, synced_hash, sync)
    )


def skip_payments_not_synced(sync: SyncSettings) -> SkipDecision | None:
    if not sync.sync_payments:
        return SkipDecision(SkipReason.PAYMENTS_NOT_SYNCED, "tenant syncs invoices only")
    return None


def skip_reverse_sync_echo(payment: KeapPayment) -> SkipDecision | None:
    if is_reverse_sync_note(payment.note):
        return SkipDecision(SkipReason.REVERSE_SYNC_ECHO, f"payment {payment.id} came from us")
    return None


def skip_overpayment(
    payment: CanonicalPayment, amount_due: Decimal, sync: SyncSettings
) -> SkipDecision | None:
    """`amount_due` is what the invoice still has due before this payment (a refund never
    overpays)."""
    if not sync.skip_overpayments or payment.kind is not PaymentKind.PAYMENT:
        return None
    if payment.amount > amount_due:
        return SkipDecision(
            SkipReason.OVERPAYMENT, f"{payment.amount} would overpay the {amount_due} due"
        )
    return None


def payment_skip_decision(
    keap_payment: KeapPayment,
    payment: CanonicalPayment,
    invoice_total: Decimal,
    paid_before: Decimal,
    settings: TenantSettings,
) -> SkipDecision | None:
    """The first rule that skips this payment, in the order the product applies them."""
    sync = settings.sync
    return (
        skip_payments_not_synced(sync)
        or skip_reverse_sync_echo(keap_payment)
        or skip_overpayment(payment, invoice_total - paid_before, sync)
    )


def _as_int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None
