"""Reconciliation jobs: read a period of Keap orders and ledger invoices page by page, keep
each page in Redis as it is read (a job resumes from its last page), then compare them with
`invoicesync.domain.reconciliation` and re-sync what the ledger lacks or shows differently."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import redis
import requests

from admin.admin_services import AdminServices
from admin.tenant_operations import redrive_objects, require_tenant
from invoicesync.clients.json_body import DecimalJsonSession
from invoicesync.clients.keap import KeapClient, KeapNotFound, keap_client_from_settings
from invoicesync.clients.xero import XeroClient, xero_client_from_settings
from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Contact,
    Destination,
    Line,
    LineKind,
    PaymentKind,
    Totals,
)
from invoicesync.domain.keap_amount_checks import KeapAmountMismatch
from invoicesync.domain.keap_order import KeapOrder
from invoicesync.domain.keap_to_canonical import (
    KeapOrderMismatch,
    canonical_invoice_from_keap_order,
    canonical_payments_from_keap,
)
from invoicesync.domain.ledger_numbers import keap_order_id_in_marker, ledger_invoice_number
from invoicesync.domain.reconciliation import (
    GONE_STATUSES,
    LastWord,
    LedgerInvoice,
    LedgerLine,
    LedgerPayment,
    Reconciliation,
    orders_to_resync,
    reconcile,
)
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import InvalidInput, Transient
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.redis_connection import reply_text

log = logging.getLogger(__name__)

KEAP_PAGE_SIZE = 1000
XERO_PAGE_SIZE = 1000  # `pageSize` with `page`: up to 1,000 invoices a call (xero.md §2)
JOB_TTL_SECONDS = 7 * 24 * 3600
# A running job whose worker has not written for this long is taken over by the next poll.
STALE_AFTER_SECONDS = 60
# Keap's order time is an instant, the invoice date a day in the tenant's zone: read a day
# either side of the period and keep the orders whose invoice date falls inside it.
_ZONE_MARGIN = timedelta(days=1)
_ROW_LISTS = ("keap_invoices", "keap_payments", "ledger_invoices", "ledger_payments")


class ReconciliationUnsupported(InvalidInput):
    """The tenant's ledger cannot be reconciled yet."""


@dataclass
class ReconciliationJob:
    id: str
    tenant_id: str
    first: date
    last: date
    status: str = "running"  # running, done, failed
    phase: str = "keap"  # keap, ledger, confirm, done
    keap_token: str = ""
    ledger_page: int = 1
    orders_read: int = 0
    ledger_invoices_read: int = 0
    keap_calls: int = 0
    ledger_calls: int = 0
    error: str = ""
    updated_at: float = field(default_factory=time.time)

    @property
    def api_calls(self) -> int:
        return self.keap_calls + self.ledger_calls

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "period": {"from": self.first.isoformat(), "to": self.last.isoformat()},
            "status": self.status,
            "phase": self.phase,
            "orders_read": self.orders_read,
            "ledger_invoices_read": self.ledger_invoices_read,
            "api_calls": {
                "keap": self.keap_calls,
                "ledger": self.ledger_calls,
                "total": self.api_calls,
            },
            "error": self.error,
        }


class ReconciliationJobs:
    """Job state and the rows read so far, in Redis for a week."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def start(self, tenant_id: str, first: date, last: date) -> ReconciliationJob:
        job = ReconciliationJob(uuid.uuid4().hex[:12], tenant_id, first, last)
        self.save(job)
        self._redis.set(_latest_key(tenant_id), job.id, ex=JOB_TTL_SECONDS)
        return job

    def get(self, tenant_id: str, job_id: str) -> ReconciliationJob | None:
        raw = self._redis.get(_job_key(tenant_id, job_id))
        if raw is None:
            return None
        stored = json.loads(raw)
        stored["first"], stored["last"] = (
            date.fromisoformat(stored["first"]),
            date.fromisoformat(stored["last"]),
        )
        return ReconciliationJob(**stored)

    def latest(self, tenant_id: str) -> ReconciliationJob | None:
        job_id = self._redis.get(_latest_key(tenant_id))
        return None if job_id is None else self.get(tenant_id, reply_text(job_id))

    def save(self, job: ReconciliationJob, **rows: list[dict]) -> None:
        """The job and the rows its last step read, together: a resumed job never reads a
        page twice nor misses one."""
        job.updated_at = time.time()
        stored = job.__dict__ | {"first": job.first.isoformat(), "last": job.last.isoformat()}
        key = _job_key(job.tenant_id, job.id)
        pipe = self._redis.pipeline(transaction=True)
        for name, values in rows.items():
            if values:
                pipe.rpush(f"{key}:{name}", *(json.dumps(v) for v in values))
                pipe.expire(f"{key}:{name}", JOB_TTL_SECONDS)
        pipe.set(key, json.dumps(stored), ex=JOB_TTL_SECONDS)
        pipe.execute()

    def rows(self, job: ReconciliationJob, name: str) -> list[dict]:
        key = f"{_job_key(job.tenant_id, job.id)}:{name}"
        return [json.loads(raw) for raw in cast("list[bytes]", self._redis.lrange(key, 0, -1))]

    def claim(self, job: ReconciliationJob, worker: str) -> bool:
        """One worker advances a job at a time; a worker that died lets go after a while."""
        key = f"{_job_key(job.tenant_id, job.id)}:worker"
        return bool(self._redis.set(key, worker, nx=True, ex=STALE_AFTER_SECONDS))

    def hold(self, job: ReconciliationJob, worker: str) -> None:
        self._redis.set(f"{_job_key(job.tenant_id, job.id)}:worker", worker, ex=STALE_AFTER_SECONDS)

    def release(self, job: ReconciliationJob) -> None:
        self._redis.delete(f"{_job_key(job.tenant_id, job.id)}:worker")


def _job_key(tenant_id: str, job_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:reconciliation:{job_id}"


def _latest_key(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:reconciliation-latest"


# -- reading ----------------------------------------------------------------------------------


class CountingSession(DecimalJsonSession):
    """Counts the provider calls a job makes (retries included: each one is a call)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def request(self, method, url, *args, **kwargs):
        self.calls += 1
        return super().request(method, url, *args, **kwargs)


@dataclass
class _Readers:
    keap: KeapClient
    xero: XeroClient
    keap_session: CountingSession
    ledger_session: CountingSession


def _readers(services: AdminServices) -> _Readers:
    """The same clients the writers use: the same limiter scopes and budgets."""
    keap_session, ledger_session = CountingSession(), CountingSession()
    return _Readers(
        keap_client_from_settings(services.settings, services.redis, keap_session),
        xero_client_from_settings(services.settings, services.redis, ledger_session),
        keap_session,
        ledger_session,
    )


def start_reconciliation(
    services: AdminServices, tenant_id: str, first: date, last: date
) -> ReconciliationJob:
    tenant = require_tenant(services, tenant_id)
    if last < first:
        raise InvalidInput("the period ends before it starts", field="to")
    if tenant.destination is not Destination.XERO:
        raise ReconciliationUnsupported(
            "reconciliation reads Xero ledgers only for now", field="tenant_id"
        )
    return ReconciliationJobs(services.redis).start(tenant.id, first, last)


def run_reconciliation(
    services: AdminServices, job: ReconciliationJob, *, on_progress=None
) -> ReconciliationJob:
    """Advance `job` page by page until done (or a provider refuses for now: the job keeps its
    place and the next run resumes there)."""
    jobs = ReconciliationJobs(services.redis)
    worker = uuid.uuid4().hex
    if not jobs.claim(job, worker):
        return job
    readers = _readers(services)
    settings = services.tenants.settings(job.tenant_id)
    try:
        while job.phase != "done":
            before_keap, before_ledger = readers.keap_session.calls, readers.ledger_session.calls
            rows = _step(services, jobs, job, readers, settings)
            job.keap_calls += readers.keap_session.calls - before_keap
            job.ledger_calls += readers.ledger_session.calls - before_ledger
            job.error = ""
            jobs.save(job, **rows)
            jobs.hold(job, worker)
            if on_progress:
                on_progress(job)
        job.status = "done"
        jobs.save(job)
    except (Transient, requests.RequestException) as exc:
        job.error = f"paused: {exc}; it resumes where it stopped"
        jobs.save(job)
    except Exception as exc:  # noqa: BLE001 - the job reports any failure to its poller
        log.exception("reconciliation failed", extra={"tenant_id": job.tenant_id})
        job.status, job.error = "failed", str(exc)
        jobs.save(job)
    finally:
        jobs.release(job)
    return job


def resume_in_background(services: AdminServices, job: ReconciliationJob) -> None:
    """Advance a running job on a thread of this process, unless another worker holds it."""
    if job.status == "running":
        threading.Thread(
            target=run_reconciliation, args=(services, job), daemon=True, name=f"recon-{job.id}"
        ).start()


def _step(
    services: AdminServices,
    jobs: ReconciliationJobs,
    job: ReconciliationJob,
    readers: _Readers,
    settings: TenantSettings,
) -> dict[str, list[dict]]:
    if job.phase == "keap":
        return _read_keap_page(job, readers.keap, settings)
    if job.phase == "ledger":
        return _read_ledger_page(services, job, readers.xero)
    return _confirm_ledger_only(jobs, job, readers.keap, settings)


def _read_keap_page(
    job: ReconciliationJob, keap: KeapClient, settings: TenantSettings
) -> dict[str, list[dict]]:
    """Newest orders first (order_by order_time desc, 1,000 a page): reading stops at the first
    order older than the period."""
    page = keap.list_orders(
        job.tenant_id, job.keap_token or None, order_by="order_time desc", page_size=KEAP_PAGE_SIZE
    )
    invoices: list[dict] = []
    payments: list[dict] = []
    earliest = datetime.combine(job.first - _ZONE_MARGIN, datetime.min.time(), UTC)
    past_the_period = False
    for order in page.items:
        moment = order.order_time or order.creation_time
        if moment is not None and moment < earliest:
            past_the_period = True
            break
        found = _keap_side(keap, job, order, settings)
        if found is not None:
            invoices.append(_invoice_json(found[0]))
            payments += [_payment_json(p) for p in found[1]]
    job.orders_read += len(page.items)
    job.keap_token = page.next_page_token or ""
    if past_the_period or not job.keap_token:
        job.phase = "ledger"
    return {"keap_invoices": invoices, "keap_payments": payments}


def _keap_side(
    keap: KeapClient, job: ReconciliationJob, order: KeapOrder, settings: TenantSettings
) -> tuple[CanonicalInvoice, list[CanonicalPayment]] | None:
    """The order's invoice (numbered as the ledger numbers it) and payments, or None when its
    invoice date is outside the period. Payments are read only for orders with money paid."""
    try:
        # The invoice date needs no payments: read them only for an order of the period.
        dated = canonical_invoice_from_keap_order(order, settings, job.tenant_id)
        if not job.first <= dated.invoice_date <= job.last:
            return None
        payments = keap.list_order_payments(job.tenant_id, order.id) if order.total_paid else []
        invoice = canonical_invoice_from_keap_order(order, settings, job.tenant_id, payments)
        canonical_payments = canonical_payments_from_keap(order, payments, settings, job.tenant_id)
    except (KeapOrderMismatch, KeapAmountMismatch, InvalidInput) as exc:
        log.warning(
            "order left out of reconciliation",
            extra={"tenant_id": job.tenant_id, "order": order.id, "why": str(exc)},
        )
        return None
    prefix = settings.sync.invoice_number_prefix
    invoice = replace(invoice, invoice_number=ledger_invoice_number(invoice.invoice_number, prefix))
    return invoice, canonical_payments


def _read_ledger_page(
    services: AdminServices, job: ReconciliationJob, xero: XeroClient
) -> dict[str, list[dict]]:
    rows = xero.invoices_dated_page(
        job.tenant_id, job.first, job.last, job.ledger_page, XERO_PAGE_SIZE
    )
    id_map = IdMap(services.redis, None, services.settings)
    invoices, payments = [], []
    for row in rows:
        document = _xero_invoice(row)
        invoices.append(_ledger_invoice_json(document))
        if document.keap_order_id is None or document.status in GONE_STATUSES:
            continue  # a company's own invoice, or one whose payments went with it
        for paid in row.get("Payments") or []:
            payment_id = str(paid.get("PaymentID", ""))
            keap_id = id_map.keap_id_for(job.tenant_id, "xero", "payment", payment_id)
            payments.append(
                _ledger_payment_json(
                    LedgerPayment(
                        ledger_id=payment_id,
                        invoice_number=document.number,
                        currency=document.currency,
                        amount=_cents(paid.get("Amount")),
                        payment_date=_xero_date(paid.get("Date")) or document.invoice_date,
                        status=str(paid.get("Status", "")),
                        keap_payment_id=keap_id,
                    )
                )
            )
    job.ledger_invoices_read += len(rows)
    job.ledger_page += 1
    if len(rows) < XERO_PAGE_SIZE:
        job.phase = "confirm"
    return {"ledger_invoices": invoices, "ledger_payments": payments}


def _confirm_ledger_only(
    jobs: ReconciliationJobs, job: ReconciliationJob, keap: KeapClient, settings: TenantSettings
) -> dict[str, list[dict]]:
    """A ledger invoice of ours whose order the period's pages did not bring: its order was
    deleted in Keap (404: it stays ledger-only), or dated otherwise (read and compared)."""
    read = {row["keap_order_id"] for row in jobs.rows(job, "keap_invoices")}
    invoices, payments = [], []
    for row in jobs.rows(job, "ledger_invoices"):
        order_id = row.get("keap_order_id")
        if not order_id or order_id in read or row["status"] in GONE_STATUSES:
            continue
        try:
            order = keap.get_order(job.tenant_id, order_id)
        except KeapNotFound:
            continue
        read.add(order_id)
        payments_read = (
            keap.list_order_payments(job.tenant_id, order.id) if order.total_paid else []
        )
        invoice = canonical_invoice_from_keap_order(order, settings, job.tenant_id, payments_read)
        number = ledger_invoice_number(invoice.invoice_number, settings.sync.invoice_number_prefix)
        invoices.append(_invoice_json(replace(invoice, invoice_number=number)))
        payments += [
            _payment_json(p)
            for p in canonical_payments_from_keap(order, payments_read, settings, job.tenant_id)
        ]
    job.phase = "done"
    return {"keap_invoices": invoices, "keap_payments": payments}


# -- the report -------------------------------------------------------------------------------


def report_of(services: AdminServices, job: ReconciliationJob) -> Reconciliation:
    """The comparison of everything the job read (call once the job is done)."""
    jobs = ReconciliationJobs(services.redis)
    keap_invoices = [_invoice_from(row) for row in jobs.rows(job, "keap_invoices")]
    keap_payments = [_payment_from(row) for row in jobs.rows(job, "keap_payments")]
    ledger_invoices = [_ledger_invoice_from(row) for row in jobs.rows(job, "ledger_invoices")]
    ledger_payments = [_ledger_payment_from(row) for row in jobs.rows(job, "ledger_payments")]
    words = _last_words(services, job.tenant_id, keap_invoices, keap_payments, ledger_invoices)
    return reconcile(keap_invoices, keap_payments, ledger_invoices, ledger_payments, words)


def _last_words(
    services: AdminServices,
    tenant_id: str,
    invoices: list[CanonicalInvoice],
    payments: list[CanonicalPayment],
    ledger: list[LedgerInvoice],
) -> dict[str, LastWord]:
    """The activity log's latest word on each Keap object the ledger does not show."""
    shown = {doc.number for doc in ledger if doc.status not in GONE_STATUSES}
    wanted = [("invoice", i.keap_invoice_id) for i in invoices if i.invoice_number not in shown]
    wanted += [("payment", p.keap_payment_id) for p in payments]
    words = {}
    for object_type, keap_id in wanted:
        page = services.activity.page(tenant_id, query=keap_id, limit=20)
        for entry in page.entries:
            if entry.result.object_type == object_type and entry.result.keap_id == keap_id:
                words[f"{object_type}:{keap_id}"] = LastWord(
                    entry.result.action.value, entry.result.reason or ""
                )
                break
    return words


def report_json(job: ReconciliationJob, report: Reconciliation) -> dict[str, Any]:
    return job.to_json() | {
        "all_matched": report.all_matched,
        "rows": [
            {
                "group": row.group.value,
                "kind": row.kind,
                "keap_id": row.keap_id,
                "keap_order_id": row.keap_order_id,
                "number": row.number,
                "currency": row.currency,
                "keap_amount": _text(row.keap_amount),
                "ledger_amount": _text(row.ledger_amount),
                "ledger_id": row.ledger_id,
                "differences": [
                    {"field": d.name, "keap": d.keap, "ledger": d.ledger} for d in row.differences
                ],
                "last_word": (
                    {"outcome": row.last_word.outcome, "reason": row.last_word.reason}
                    if row.last_word
                    else None
                ),
            }
            for row in report.rows
        ],
        "totals": [
            {
                "group": total.group.value,
                "currency": total.currency,
                "count": total.count,
                "keap_amount": _text(total.keap_amount),
                "ledger_amount": _text(total.ledger_amount),
            }
            for total in report.totals
        ],
    }


CSV_COLUMNS = (
    "group",
    "kind",
    "number",
    "keap_id",
    "keap_order_id",
    "ledger_id",
    "currency",
    "keap_amount",
    "ledger_amount",
    "differences",
    "last_word",
)


def report_csv_rows(report: Reconciliation) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    for row in report.rows:
        differences = "; ".join(
            f"{d.name}: Keap {d.keap} / ledger {d.ledger}" for d in row.differences
        )
        word = f"{row.last_word.outcome}: {row.last_word.reason}" if row.last_word else ""
        yield [
            row.group.value,
            row.kind,
            row.number,
            row.keap_id,
            row.keap_order_id,
            row.ledger_id,
            row.currency,
            _text(row.keap_amount) or "",
            _text(row.ledger_amount) or "",
            differences,
            word.rstrip(": "),
        ]


# -- re-sync ----------------------------------------------------------------------------------

RESYNC_EVENT_KEY = "manual.reconciliation"


def resync(services: AdminServices, job: ReconciliationJob) -> list[str]:
    """Drive the orders of every missing or different row through the pipeline again, as Sync
    ID does. The id map first forgets what it knows of them, so the writer looks again: a
    mapping to a deleted ledger invoice is dropped (the writer creates it anew), a mapping to
    an edited or voided one loses its content hash (the writer rewrites it, or says why it
    cannot), a payment the ledger no longer shows loses its mapping (applied again). Returns
    the order ids driven."""
    report = report_of(services, job)
    tenant_id = job.tenant_id
    id_map = IdMap(services.redis, services.publisher, services.settings)
    # A deleted invoice frees its number; a voided one keeps it (Xero, QBO), so the writer
    # can only say so: its mapping stays, and its refusal is the report's next last word.
    deleted = {
        row["ledger_id"]
        for row in ReconciliationJobs(services.redis).rows(job, "ledger_invoices")
        if row["status"] == "DELETED"
    }
    for row in report.to_resync():
        mapped = id_map.get(tenant_id, "xero", row.kind, row.keap_id)
        if mapped is None:
            continue
        if row.kind == "invoice" and mapped.destination_id in deleted:
            id_map.delete(tenant_id, "xero", "invoice", row.keap_id)
        elif row.kind == "invoice":
            id_map.put(tenant_id, "xero", "invoice", row.keap_id, replace(mapped, content_hash=""))
        elif row.ledger_id == "":
            # A payment the ledger no longer shows (deleted, or gone with its invoice).
            id_map.delete(tenant_id, "xero", "payment", row.keap_id)
    orders = orders_to_resync(report)
    redrive_objects(
        services, tenant_id, [("order", order_id) for order_id in orders], RESYNC_EVENT_KEY
    )
    return orders


# -- row codecs (Redis keeps what the comparison needs, nothing more) -------------------------


def _invoice_json(invoice: CanonicalInvoice) -> dict:
    return {
        "keap_invoice_id": invoice.keap_invoice_id,
        "keap_order_id": invoice.keap_order_id,
        "number": invoice.invoice_number,
        "contact": invoice.contact.name,
        "currency": invoice.currency,
        "date": invoice.invoice_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "total": str(invoice.totals.total),
        "tax": str(invoice.totals.tax),
        "due": str(invoice.totals.due),
        "lines": [[str(line.line_amount), line.kind.value, line.taxable] for line in invoice.lines],
    }


def _invoice_from(row: dict) -> CanonicalInvoice:
    total, tax, due = Decimal(row["total"]), Decimal(row["tax"]), Decimal(row["due"])
    return CanonicalInvoice(
        tenant_id="",
        keap_invoice_id=row["keap_invoice_id"],
        keap_order_id=row["keap_order_id"],
        invoice_number=row["number"],
        contact=Contact(keap_id="", name=row["contact"]),
        currency=row["currency"],
        invoice_date=date.fromisoformat(row["date"]),
        due_date=date.fromisoformat(row["due_date"]),
        lines=tuple(
            Line(LineKind(kind), "", Decimal(1), Decimal(amount), Decimal(amount), taxable)
            for amount, kind, taxable in row["lines"]
        ),
        totals=Totals(total - tax, tax, total, total - due, due),
    )


def _payment_json(payment: CanonicalPayment) -> dict:
    return {
        "keap_payment_id": payment.keap_payment_id,
        "keap_invoice_id": payment.keap_invoice_id,
        "amount": str(payment.amount),
        "date": payment.payment_date.isoformat(),
        "kind": payment.kind.value,
        "currency": payment.currency,
        "number": payment.invoice_number,
    }


def _payment_from(row: dict) -> CanonicalPayment:
    return CanonicalPayment(
        tenant_id="",
        keap_payment_id=row["keap_payment_id"],
        keap_invoice_id=row["keap_invoice_id"],
        amount=Decimal(row["amount"]),
        payment_date=date.fromisoformat(row["date"]),
        method="",
        kind=PaymentKind(row["kind"]),
        currency=row["currency"],
        invoice_number=row["number"],
    )


def _ledger_invoice_json(doc: LedgerInvoice) -> dict:
    return {
        "ledger_id": doc.ledger_id,
        "number": doc.number,
        "status": doc.status,
        "currency": doc.currency,
        "total": str(doc.total),
        "tax": str(doc.tax),
        "amount_due": str(doc.amount_due),
        "date": doc.invoice_date.isoformat(),
        "due_date": doc.due_date.isoformat() if doc.due_date else None,
        "contact": doc.contact,
        "lines": [str(line.amount) for line in doc.lines],
        "keap_order_id": doc.keap_order_id,
    }


def _ledger_invoice_from(row: dict) -> LedgerInvoice:
    return LedgerInvoice(
        ledger_id=row["ledger_id"],
        number=row["number"],
        status=row["status"],
        currency=row["currency"],
        total=Decimal(row["total"]),
        tax=Decimal(row["tax"]),
        amount_due=Decimal(row["amount_due"]),
        invoice_date=date.fromisoformat(row["date"]),
        due_date=date.fromisoformat(row["due_date"]) if row["due_date"] else None,
        contact=row["contact"],
        lines=tuple(LedgerLine("", Decimal(a)) for a in row["lines"]),
        keap_order_id=row["keap_order_id"],
    )


def _ledger_payment_json(pay: LedgerPayment) -> dict:
    return {
        "ledger_id": pay.ledger_id,
        "number": pay.invoice_number,
        "currency": pay.currency,
        "amount": str(pay.amount),
        "date": pay.payment_date.isoformat(),
        "status": pay.status,
        "keap_payment_id": pay.keap_payment_id,
    }


def _ledger_payment_from(row: dict) -> LedgerPayment:
    return LedgerPayment(
        ledger_id=row["ledger_id"],
        invoice_number=row["number"],
        currency=row["currency"],
        amount=Decimal(row["amount"]),
        payment_date=date.fromisoformat(row["date"]),
        status=row["status"],
        keap_payment_id=row["keap_payment_id"],
    )


def _xero_invoice(row: dict) -> LedgerInvoice:
    return LedgerInvoice(
        ledger_id=str(row["InvoiceID"]),
        number=str(row.get("InvoiceNumber", "")),
        status=str(row.get("Status", "")).upper(),
        currency=str(row.get("CurrencyCode") or ""),
        total=_cents(row.get("Total")),
        tax=_cents(row.get("TotalTax")),
        amount_due=_cents(row.get("AmountDue")),
        invoice_date=_xero_date(row.get("DateString") or row.get("Date")) or date.min,
        due_date=_xero_date(row.get("DueDateString") or row.get("DueDate")),
        contact=str((row.get("Contact") or {}).get("Name") or ""),
        lines=tuple(
            LedgerLine(str(line.get("Description", "")), _cents(line.get("LineAmount")))
            for line in row.get("LineItems") or []
        ),
        keap_order_id=keap_order_id_in_marker(Destination.XERO, str(row.get("Reference") or "")),
    )


def _xero_date(value: Any) -> date | None:
    """Xero writes `/Date(1539993600000+0000)/`; its *String twins are ISO."""
    text = str(value or "")
    if text.startswith("/Date("):
        millis = int(text[6:].split("+")[0].split("-")[0].rstrip(")/"))
        return datetime.fromtimestamp(millis / 1000, UTC).date()
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _cents(value: Any) -> Decimal:
    """Xero's amounts are 2-dp money; its JSON may write 10.0 for 10.00."""
    return Decimal(str(value or "0")).quantize(Decimal("0.01"))


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)
