"""What a reconciliation reads from a tenant's ledger, one page at a time, behind one small
interface: a reader per destination (`xero_ledger_reader`, `qbo_ledger_reader`), each built
on the writers' own client so its calls count against the same limiter budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from invoicesync.clients.json_body import DecimalJsonSession
from invoicesync.domain.reconciliation import LedgerInvoice, LedgerPayment


@dataclass(frozen=True)
class LedgerPage:
    invoices: list[LedgerInvoice]
    # The payments applied to this page's invoices of ours (not to a company's own ones).
    payments: list[LedgerPayment]
    last: bool  # no page follows


class LedgerReader(Protocol):
    def read_page(self, tenant_id: str, first: date, last: date, page: int) -> LedgerPage:
        """Page `page` (1-based) of the invoices dated `first`..`last`, with their payments."""
        ...

    def deleted_invoices(self, tenant_id: str, ledger_ids: Sequence[str]) -> set[str]:
        """Which of these invoices, not found in the period's pages, the ledger no longer
        holds (a ledger that keeps deleted invoices shows them in its pages instead)."""
        ...


class CountingSession(DecimalJsonSession):
    """Counts the provider calls a job makes (retries included: each one is a call)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def request(self, method, url, *args, **kwargs):
        self.calls += 1
        return super().request(method, url, *args, **kwargs)
