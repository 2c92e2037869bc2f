"""The Keap invoice behind a ledger invoice the id map has lost, found from the ledger's own copy.

Every invoice our writers create carries a marker naming its Keap order (the Xero Reference,
the QBO PrivateNote; see domain/ledger_numbers.py). A payment against an invoice with no mapping
is therefore not dropped: the ledger invoice is read, its marker names the Keap order, the order
is mapped as transform maps it, and the mapping is written back to the id map (ledger and Redis).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from invoicesync.clients.keap import KeapClient, KeapNotFound
from invoicesync.clients.provider_http import ProviderRejected
from invoicesync.clients.qbo import QboClient
from invoicesync.clients.xero import XeroClient
from invoicesync.domain.canonical import Destination
from invoicesync.domain.keap_to_canonical import (
    KeapOrderMismatch,
    canonical_invoice_from_keap_order,
)
from invoicesync.domain.ledger_numbers import (
    NumberAction,
    existing_number_decision,
    keap_order_id_in_marker,
    ledger_invoice_number,
)
from invoicesync.domain.money import to_decimal
from invoicesync.domain.payment_to_ledger import LedgerInvoice
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import Disconnected, InvalidInput
from invoicesync.stores.id_map import IdMap, MappedId
from invoicesync.writing.flow import ledger_content_hash
from invoicesync.writing.outcomes import INVOICE

log = logging.getLogger(__name__)


class LookupOutcome(enum.StrEnum):
    FOUND = "found"
    # The ledger invoice carries no marker of ours, or is gone: not ours to sync back.
    NOT_OURS = "not_ours"
    # Ours by its marker, but Keap cannot give its invoice now: kept and retried.
    UNRESOLVED = "unresolved"


@dataclass(frozen=True)
class InvoiceLookup:
    outcome: LookupOutcome
    keap_invoice_id: str = ""
    reason: str = ""


class LedgerInvoiceLookup:
    def __init__(self, keap: KeapClient, xero: XeroClient, qbo: QboClient, id_map: IdMap) -> None:
        self._keap = keap
        self._xero = xero
        self._qbo = qbo
        self._id_map = id_map

    def restore_mapping(
        self,
        tenant_id: str,
        destination: Destination,
        ledger_invoice_id: str,
        settings: TenantSettings,
    ) -> InvoiceLookup:
        """Find the Keap invoice of `ledger_invoice_id` and map it again. Transient and
        Disconnected errors propagate: the caller retries the payment later."""
        ledger = self._ledger_invoice(tenant_id, destination, ledger_invoice_id)
        if ledger is None:
            return InvoiceLookup(LookupOutcome.NOT_OURS, reason="the ledger has no such invoice")
        order_id = keap_order_id_in_marker(destination, ledger.note)
        if order_id is None:
            return InvoiceLookup(LookupOutcome.NOT_OURS, reason="InvoiceSync did not write it")
        try:
            order = self._keap.get_order(tenant_id, order_id)
            payments = self._keap.list_order_payments(tenant_id, order.id)
            invoice = canonical_invoice_from_keap_order(order, settings, tenant_id, payments)
        except (KeapNotFound, KeapOrderMismatch) as exc:
            return InvoiceLookup(LookupOutcome.UNRESOLVED, reason=f"Keap order {order_id}: {exc}")
        number = ledger_invoice_number(invoice.invoice_number, settings.sync.invoice_number_prefix)
        invoice = replace(invoice, invoice_number=number)
        decision = existing_number_decision(destination, invoice, ledger)
        if decision.action is NumberAction.CLASH:
            return InvoiceLookup(LookupOutcome.NOT_OURS, reason=decision.reason)
        # A ledger invoice that differs from Keap's today is mapped with no content hash, so the
        # next change of that Keap invoice is written to it rather than taken as already synced.
        content = ledger_content_hash(invoice) if decision.action is NumberAction.ADOPT else ""
        self._id_map.put(
            tenant_id,
            destination.value,
            INVOICE,
            invoice.keap_invoice_id,
            MappedId(ledger.destination_id, content, ledger.status),
        )
        log.info(
            "id map entry restored from the ledger invoice",
            extra={
                "tenant_id": tenant_id,
                "destination": destination.value,
                "destination_id": ledger.destination_id,
                "keap_invoice_id": invoice.keap_invoice_id,
            },
        )
        return InvoiceLookup(LookupOutcome.FOUND, keap_invoice_id=invoice.keap_invoice_id)

    def _ledger_invoice(
        self, tenant_id: str, destination: Destination, invoice_id: str
    ) -> LedgerInvoice | None:
        if not invoice_id:
            return None
        try:
            if destination is Destination.XERO:
                return _xero_ledger_invoice(self._xero.get_invoice(tenant_id, invoice_id))
            return _qbo_ledger_invoice(self._qbo, tenant_id, invoice_id)
        except Disconnected:
            raise
        except (ProviderRejected, InvalidInput, LookupError) as exc:
            log.info(
                "ledger invoice unreadable",
                extra={"tenant_id": tenant_id, "destination_id": invoice_id, "error": str(exc)},
            )
            return None


def _xero_ledger_invoice(row: dict) -> LedgerInvoice:
    total = to_decimal(row.get("Total", "0"))
    return LedgerInvoice(
        destination_id=str(row["InvoiceID"]),
        number=str(row.get("InvoiceNumber") or ""),
        status=str(row.get("Status") or ""),
        total=total,
        amount_due=to_decimal(row.get("AmountDue", total)),
        accepts_payments=str(row.get("Status")) == "AUTHORISED",
        note=str(row.get("Reference") or ""),
    )


def _qbo_ledger_invoice(client: QboClient, tenant_id: str, invoice_id: str) -> LedgerInvoice:
    invoice = client.read_invoice(tenant_id, invoice_id)
    return LedgerInvoice(
        destination_id=invoice.id,
        number=invoice.doc_number,
        status="",
        total=invoice.total,
        amount_due=invoice.balance,
        accepts_payments=invoice.balance > Decimal(0),
        note=invoice.private_note,
    )
