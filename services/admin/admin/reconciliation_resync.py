"""Re-sync after a reconciliation: settle every row that is not matched, through the normal
pipeline (the writers and reverse-sync do the writing)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from admin.admin_services import AdminServices
from admin.ledger_payment_requests import request_keap_recording
from admin.ledger_reading import CountingSession
from admin.reconciliation import (
    ReconciliationJob,
    ReconciliationJobs,
    ledger_reader_for,
    report_of,
)
from admin.tenant_operations import redrive_objects, require_tenant
from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_numbers import reissue_number
from invoicesync.domain.reconciliation import (
    VOIDED_STATUSES,
    Group,
    Reconciliation,
    orders_to_resync,
)
from invoicesync.events import EventType, LedgerInvoiceVoid, Topic, envelope_for
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.id_map import TO_REISSUE, IdMap, MappedId

RESYNC_EVENT_KEY = "manual.reconciliation"


@dataclass(frozen=True)
class Resync:
    """What a re-sync set going: Keap orders driven again (with the invoices among them to be
    written anew under a reissue number), and ledger invoices of deleted orders to void."""

    orders: list[str]
    reissued: list[str] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    recorded_in_keap: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, list[str]]:
        return {
            "orders": self.orders,
            "reissued": self.reissued,
            "voided": self.voided,
            "recorded_in_keap": self.recorded_in_keap,
        }


def resync(services: AdminServices, job: ReconciliationJob) -> Resync:
    """Bring the ledger in line with Keap for every row that is not matched.

    Missing and different rows drive their orders through the pipeline again, as Sync ID does.
    The id map first forgets what it knows of them, so the writer looks again: a mapping to a
    deleted ledger invoice is dropped (the writer creates it anew), one to a voided invoice is
    set to be reissued under a new number (a void keeps its number), one to an edited invoice
    loses its content hash (the writer rewrites it, or says why it cannot), and a payment the
    ledger no longer shows loses its mapping (applied again). A ledger invoice whose Keap order
    was deleted is voided by its writer (deleted if still a draft)."""
    report = report_of(services, job)
    tenant_id = job.tenant_id
    destination = require_tenant(services, tenant_id).destination
    ledger = destination.value
    id_map = IdMap(services.redis, services.publisher, services.settings)
    mapped = {
        (row.kind, row.keap_id): found
        for row in report.to_resync()
        if (found := id_map.get(tenant_id, ledger, row.kind, row.keap_id)) is not None
    }
    documents = {
        row["ledger_id"]: row
        for row in ReconciliationJobs(services.redis).rows(job, "ledger_invoices")
    }
    deleted = _deleted_invoices(services, job, destination, mapped)
    reissued = []
    for row in report.to_resync():
        known = mapped.get((row.kind, row.keap_id))
        if known is None:
            continue
        voided = documents.get(known.destination_id, {})
        if row.kind == "invoice" and known.destination_id in deleted:
            id_map.delete(tenant_id, ledger, "invoice", row.keap_id)
        elif row.kind == "invoice" and voided.get("status") in VOIDED_STATUSES:
            number = reissue_number(row.number, voided.get("number") or row.number)
            if number is not None:
                reissue = MappedId(
                    known.destination_id, "", TO_REISSUE, known.keap_modified_at, number
                )
                id_map.put(tenant_id, ledger, "invoice", row.keap_id, reissue)
                reissued.append(row.keap_id)
        elif row.kind == "invoice" and (row.content_differs or row.ledger_id == ""):
            id_map.put(tenant_id, ledger, "invoice", row.keap_id, replace(known, content_hash=""))
        elif row.ledger_id == "":
            # A payment the ledger no longer shows (deleted, or gone with its invoice).
            id_map.delete(tenant_id, ledger, "payment", row.keap_id)
    orders = orders_to_resync(report)
    redrive_objects(
        services, tenant_id, [("order", order_id) for order_id in orders], RESYNC_EVENT_KEY
    )
    voided_ids = _void_invoices_of_deleted_orders(services, job, report, destination, id_map)
    recorded = _record_ledger_payments_in_keap(services, job, report, destination, documents)
    return Resync(orders, reissued, voided_ids, recorded)


def _record_ledger_payments_in_keap(
    services: AdminServices,
    job: ReconciliationJob,
    report: Reconciliation,
    destination: Destination,
    documents: dict[str, dict],
) -> list[str]:
    """Ask reverse-sync to record in Keap each payment only the ledger holds (it leaves alone
    one on an invoice InvoiceSync did not write)."""
    invoice_ids = {doc["number"]: ledger_id for ledger_id, doc in documents.items()}
    rows = [
        row for row in report.in_group(Group.LEDGER_ONLY) if row.kind == "payment" and row.ledger_id
    ]
    payment_ids = list(dict.fromkeys(row.ledger_id for row in rows))
    if payment_ids:
        request_keap_recording(
            services,
            job.tenant_id,
            destination,
            payment_ids,
            invoice_ids={
                row.ledger_id: invoice_ids[row.number] for row in rows if row.number in invoice_ids
            },
            requested_by="reconciliation",
            why=f"re-sync of reconciliation {job.id}",
        )
    return payment_ids


def _void_invoices_of_deleted_orders(
    services: AdminServices,
    job: ReconciliationJob,
    report: Reconciliation,
    destination: Destination,
    id_map: IdMap,
) -> list[str]:
    """Ask the writer to void each ledger-only invoice whose Keap order the job found deleted
    (it re-reads the invoice, and leaves it if paid or not that order's)."""
    deleted_orders = {
        row["keap_order_id"]
        for row in ReconciliationJobs(services.redis).rows(job, "deleted_orders")
    }
    requests = [
        LedgerInvoiceVoid(
            destination.value,
            row.ledger_id,
            row.keap_order_id,
            keap_invoice_id=id_map.keap_id_for(
                job.tenant_id, destination.value, "invoice", row.ledger_id
            )
            or "",
            invoice_number=row.number,
            reason="its Keap order was deleted",
        )
        for row in report.in_group(Group.LEDGER_ONLY)
        if row.kind == "invoice" and row.keap_order_id in deleted_orders
    ]
    services.publisher.publish_all(
        [
            Outgoing(
                Topic.CANONICAL_EVENTS,
                envelope_for(EventType.LEDGER_INVOICE_VOID_REQUESTED, job.tenant_id, request),
            )
            for request in requests
        ]
    )
    return [request.ledger_id for request in requests]


def _deleted_invoices(
    services: AdminServices,
    job: ReconciliationJob,
    destination: Destination,
    mapped: dict[tuple[str, str], MappedId],
) -> set[str]:
    """The mapped ledger invoices that are deleted. A deleted invoice frees its number; a
    voided one keeps it (Xero, QBO), so the writer can only say so: its mapping stays, and its
    refusal is the report's next last word. Xero shows a deleted invoice in the period's pages
    (DELETED); QBO leaves it out, so a mapped Id the pages lacked is looked up (it may only
    have been re-dated out of the period)."""
    statuses = {
        row["ledger_id"]: row["status"]
        for row in ReconciliationJobs(services.redis).rows(job, "ledger_invoices")
    }
    invoice_ids = [known.destination_id for (kind, _), known in mapped.items() if kind == "invoice"]
    deleted = {i for i in invoice_ids if statuses.get(i) == "DELETED"}
    unseen = sorted(i for i in invoice_ids if i not in statuses)
    if unseen:
        deleted |= ledger_reader_for(services, destination, CountingSession()).deleted_invoices(
            job.tenant_id, unseen
        )
    return deleted
