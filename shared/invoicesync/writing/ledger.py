"""What the writer flow needs from a destination ledger, and what the ledger answers."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from invoicesync.domain.canonical import CanonicalInvoice, CanonicalPayment, Destination
from invoicesync.domain.payment_to_ledger import LedgerInvoice
from invoicesync.domain.tenant_settings import TenantSettings


class WriteStatus(enum.StrEnum):
    WRITTEN = "written"
    # The destination already holds a document with this number (created by an earlier run
    # whose mapping was lost): look it up and adopt it instead of creating another.
    DUPLICATE_NUMBER = "duplicate_number"
    # The destination refuses this change for good (e.g. an approved invoice cannot be edited).
    REFUSED = "refused"
    # The destination rejected the element (validation); retrying the same body cannot help.
    REJECTED = "rejected"


@dataclass(frozen=True)
class WriteOutcome:
    """What one create/update/payment did. `notes` are worth an activity line (rounding...)."""

    status: WriteStatus
    destination_id: str | None = None
    destination_status: str = ""
    reason: str = ""
    notes: tuple[str, ...] = ()

    @property
    def written(self) -> bool:
        return self.status is WriteStatus.WRITTEN


class LedgerWriter(Protocol):
    """One destination's writes. Methods raise Transient/RateLimited/Disconnected as the HTTP
    layer does; per-element validation failures come back as outcomes instead."""

    destination: Destination
    # True when the destination refuses a second invoice with the same number (Xero ACCREC):
    # the flow then creates first and adopts on DUPLICATE_NUMBER, saving a lookup per batch.
    rejects_duplicate_numbers: bool
    max_batch: int

    def find_invoices_by_number(
        self, tenant_id: str, numbers: Sequence[str]
    ) -> Mapping[str, LedgerInvoice]: ...

    def create_invoices(
        self, tenant_id: str, invoices: Sequence[CanonicalInvoice], settings: TenantSettings
    ) -> list[WriteOutcome]: ...

    def update_invoice(
        self,
        tenant_id: str,
        current: LedgerInvoice,
        invoice: CanonicalInvoice,
        settings: TenantSettings,
    ) -> WriteOutcome:
        """Rewrite `current` (as just read; the flow has decided it takes the edit) with
        Keap's content, keeping its ledger status."""
        ...

    def invoice_state(self, tenant_id: str, destination_id: str) -> LedgerInvoice: ...

    def apply_payment(
        self,
        tenant_id: str,
        invoice: LedgerInvoice,
        payment: CanonicalPayment,
        settings: TenantSettings,
    ) -> WriteOutcome: ...

    def record_refund(
        self,
        tenant_id: str,
        invoice: LedgerInvoice,
        refund: CanonicalPayment,
        settings: TenantSettings,
    ) -> WriteOutcome: ...

    def void_invoice(self, tenant_id: str, current: LedgerInvoice, *, delete: bool) -> WriteOutcome:
        """Take `current` out of the books: deleted (`delete`, Xero's DRAFT and SUBMITTED) or
        voided. The flow has decided the invoice is ours and has nothing applied to it."""
        ...
