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
from admin.ledger_reading import CountingSession, LedgerReader
from admin.qbo_ledger_reader import QboLedgerReader
from admin.reconciliation_rows import (
    invoice_from_row,
    invoice_row,
    ledger_invoice_from_row,
    ledger_invoice_row,
    ledger_payment_from_row,
    ledger_payment_row,
    payment_from_row,
    payment_rows,
    recorded_from_rows,
)
from admin.tenant_operations import require_tenant
from admin.xero_ledger_reader import XeroLedgerReader
from invoicesync.clients.keap import KeapClient, KeapNotFound, keap_client_from_settings
from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Destination,
)
from invoicesync.domain.keap_amount_checks import KeapAmountMismatch
from invoicesync.domain.keap_order import KeapOrder
from invoicesync.domain.keap_to_canonical import (
    KeapOrderMismatch,
    canonical_invoice_from_keap_order,
    canonical_payments_from_keap,
)
from invoicesync.domain.ledger_numbers import ledger_invoice_number
from invoicesync.domain.reconciliation import (
    GONE_STATUSES,
    LastWord,
    LedgerInvoice,
    Reconciliation,
    reconcile,
)
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import InvalidInput, Transient
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.redis_connection import reply_text

log = logging.getLogger(__name__)

KEAP_PAGE_SIZE = 1000
JOB_TTL_SECONDS = 7 * 24 * 3600
# A running job whose worker has not written for this long is taken over by the next poll.
STALE_AFTER_SECONDS = 60
# Keap's order time is an instant, the invoice date a day in the tenant's zone: read a day
# either side of the period and keep the orders whose invoice date falls inside it.
_ZONE_MARGIN = timedelta(days=1)


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


@dataclass
class _Readers:
    keap: KeapClient
    ledger: LedgerReader
    keap_session: CountingSession
    ledger_session: CountingSession


def _readers(services: AdminServices, destination: Destination) -> _Readers:
    """The same client factories the writers use: the same limiter scopes and budgets."""
    keap_session, ledger_session = CountingSession(), CountingSession()
    return _Readers(
        keap_client_from_settings(services.settings, services.redis, keap_session),
        ledger_reader_for(services, destination, ledger_session),
        keap_session,
        ledger_session,
    )


def ledger_reader_for(
    services: AdminServices, destination: Destination, session: CountingSession
) -> LedgerReader:
    id_map = IdMap(services.redis, None, services.settings)
    if destination is Destination.QBO:
        return QboLedgerReader(
            qbo_client_from_settings(services.settings, services.redis, session), id_map
        )
    return XeroLedgerReader(
        xero_client_from_settings(services.settings, services.redis, session), id_map
    )


def start_reconciliation(
    services: AdminServices, tenant_id: str, first: date, last: date
) -> ReconciliationJob:
    tenant = require_tenant(services, tenant_id)
    if last < first:
        raise InvalidInput("the period ends before it starts", field="to")
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
    readers = _readers(services, require_tenant(services, job.tenant_id).destination)
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
        return _read_ledger_page(job, readers.ledger)
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
            invoices.append(invoice_row(found[0]))
            payments += found[1]
    job.orders_read += len(page.items)
    job.keap_token = page.next_page_token or ""
    if past_the_period or not job.keap_token:
        job.phase = "ledger"
    return {"keap_invoices": invoices, "keap_payments": payments}


def _keap_side(
    keap: KeapClient, job: ReconciliationJob, order: KeapOrder, settings: TenantSettings
) -> tuple[CanonicalInvoice, list[dict]] | None:
    """The order's invoice (numbered as the ledger numbers it) and payment rows, or None when
    its invoice date is outside the period. Payments are read only for orders with money paid."""
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
    return invoice, payment_rows(canonical_payments, payments)


def _read_ledger_page(job: ReconciliationJob, ledger: LedgerReader) -> dict[str, list[dict]]:
    page = ledger.read_page(job.tenant_id, job.first, job.last, job.ledger_page)
    job.ledger_invoices_read += len(page.invoices)
    job.ledger_page += 1
    if page.last:
        job.phase = "confirm"
    return {
        "ledger_invoices": [ledger_invoice_row(doc) for doc in page.invoices],
        "ledger_payments": [ledger_payment_row(pay) for pay in page.payments],
    }


def _confirm_ledger_only(
    jobs: ReconciliationJobs, job: ReconciliationJob, keap: KeapClient, settings: TenantSettings
) -> dict[str, list[dict]]:
    """A ledger invoice of ours whose order the period's pages did not bring: its order was
    deleted in Keap (404: it stays ledger-only), or dated otherwise (read and compared)."""
    read = {row["keap_order_id"] for row in jobs.rows(job, "keap_invoices")}
    invoices, payments, deleted = [], [], []
    for row in jobs.rows(job, "ledger_invoices"):
        order_id = row.get("keap_order_id")
        if not order_id or order_id in read or row["status"] in GONE_STATUSES:
            continue
        try:
            order = keap.get_order(job.tenant_id, order_id)
        except KeapNotFound:
            deleted.append({"keap_order_id": order_id})
            continue
        read.add(order_id)
        payments_read = (
            keap.list_order_payments(job.tenant_id, order.id) if order.total_paid else []
        )
        invoice = canonical_invoice_from_keap_order(order, settings, job.tenant_id, payments_read)
        number = ledger_invoice_number(invoice.invoice_number, settings.sync.invoice_number_prefix)
        invoices.append(invoice_row(replace(invoice, invoice_number=number)))
        payments += payment_rows(
            canonical_payments_from_keap(order, payments_read, settings, job.tenant_id),
            payments_read,
        )
    job.phase = "done"
    return {"keap_invoices": invoices, "keap_payments": payments, "deleted_orders": deleted}


# -- the report -------------------------------------------------------------------------------


def report_of(services: AdminServices, job: ReconciliationJob) -> Reconciliation:
    """The comparison of everything the job read (call once the job is done)."""
    jobs = ReconciliationJobs(services.redis)
    keap_invoices = [invoice_from_row(row) for row in jobs.rows(job, "keap_invoices")]
    stored_payments = jobs.rows(job, "keap_payments")
    keap_payments = [payment_from_row(row) for row in stored_payments]
    ledger_invoices = [ledger_invoice_from_row(row) for row in jobs.rows(job, "ledger_invoices")]
    ledger_payments = [ledger_payment_from_row(row) for row in jobs.rows(job, "ledger_payments")]
    words = _last_words(services, job.tenant_id, keap_invoices, keap_payments, ledger_invoices)
    destination = require_tenant(services, job.tenant_id).destination
    recorded_from = recorded_from_rows(stored_payments, destination)
    return reconcile(
        keap_invoices, keap_payments, ledger_invoices, ledger_payments, words, recorded_from
    )


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


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)
