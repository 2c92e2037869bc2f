"""Backfill jobs: one per tenant at a time, claimed by a runner under a lease, resumable."""

from __future__ import annotations

import enum
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime

import redis

from invoicesync.domain.tenant_settings import StartPoint, StartPointKind
from invoicesync.stores.redis_connection import reply_bytes, reply_text

DEFAULT_LEASE_SECONDS = 120.0
# Claimable jobs, scored by when they may be taken: now for queued ones, lease end for running.
_DUE = "invoicesync:backfill:due"

_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], due[1])
return due[1]
"""


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class BackfillJob:
    id: str
    tenant_id: str
    start: StartPoint
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    pages_done: int = 0
    published: int = 0
    cursor: str | None = None  # where the runner resumes; opaque to the store
    estimated_total: int | None = None
    error: str = ""
    claimed_by: str = ""


def _job_key(job_id: str) -> str:
    return f"invoicesync:backfill:job:{job_id}"


def _current_key(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:backfill:current"


class BackfillJobs:
    def __init__(self, client: redis.Redis, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = client
        self._clock = clock
        self._claim = client.register_script(_CLAIM)

    def start(self, tenant_id: str, start: StartPoint) -> tuple[BackfillJob, bool]:
        """A new queued job, or the tenant's job still queued/running (and False)."""
        current = self.current(tenant_id)
        if current is not None and current.status in ACTIVE:
            return current, False
        now = datetime.now(UTC)
        job = BackfillJob(
            id=uuid.uuid4().hex,
            tenant_id=tenant_id,
            start=start,
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
        )
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(_job_key(job.id), _encode(job))
        pipe.set(_current_key(tenant_id), job.id)
        pipe.zadd(_DUE, {job.id: self._clock()})
        pipe.execute()
        return job, True

    def get(self, job_id: str) -> BackfillJob | None:
        raw = self._redis.get(_job_key(job_id))
        return _decode(reply_bytes(raw)) if raw is not None else None

    def claimable(self, job_id: str) -> bool:
        """Whether a runner asking now would be given the job: queued, or its lease ran out."""
        due_at = self._redis.zscore(_DUE, job_id)
        return due_at is not None and due_at <= self._clock()

    def current(self, tenant_id: str) -> BackfillJob | None:
        job_id = self._redis.get(_current_key(tenant_id))
        return self.get(reply_text(job_id)) if job_id is not None else None

    def claim_next(
        self, worker_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> BackfillJob | None:
        """A queued job, or a running one whose runner stopped renewing its lease (it resumes
        from the job's cursor)."""
        now = self._clock()
        job_id = self._claim(keys=[_DUE], args=[now, now + lease_seconds])
        if job_id is None:
            return None
        job = self.get(job_id.decode())
        if job is None or job.status not in ACTIVE:
            self._redis.zrem(_DUE, job_id)
            return None
        return self._save(replace(job, status=JobStatus.RUNNING, claimed_by=worker_id))

    def record_page(
        self,
        job_id: str,
        cursor: str | None,
        published: int,
        *,
        estimated_total: int | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> BackfillJob:
        """One page published: count it, keep the cursor to resume from, renew the lease.

        Call it only after Kafka acknowledged the page's notifications."""
        job = self._require(job_id)
        updated = replace(
            job,
            pages_done=job.pages_done + 1,
            published=job.published + published,
            cursor=cursor,
            estimated_total=estimated_total if estimated_total is not None else job.estimated_total,
        )
        self._redis.zadd(_DUE, {job_id: self._clock() + lease_seconds}, xx=True)
        return self._save(updated)

    def finish(self, job_id: str) -> BackfillJob:
        self._redis.zrem(_DUE, job_id)
        return self._save(replace(self._require(job_id), status=JobStatus.DONE))

    def fail(self, job_id: str, error: str) -> BackfillJob:
        self._redis.zrem(_DUE, job_id)
        return self._save(replace(self._require(job_id), status=JobStatus.FAILED, error=error))

    def _require(self, job_id: str) -> BackfillJob:
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def _save(self, job: BackfillJob) -> BackfillJob:
        job = replace(job, updated_at=datetime.now(UTC))
        self._redis.set(_job_key(job.id), _encode(job))
        return job


def start_point_json(start: StartPoint) -> dict:
    return {
        "kind": start.kind.value,
        "invoice_id": start.invoice_id,
        "on_date": start.on_date.isoformat() if start.on_date else None,
    }


def _encode(job: BackfillJob) -> str:
    document = asdict(job)
    document["start"] = start_point_json(job.start)
    document["status"] = job.status.value
    document["created_at"] = job.created_at.isoformat()
    document["updated_at"] = job.updated_at.isoformat()
    return json.dumps(document)


def _decode(raw: bytes) -> BackfillJob:
    document = json.loads(raw)
    start = document.pop("start")
    return BackfillJob(
        **{
            **document,
            "start": StartPoint(
                kind=StartPointKind(start["kind"]),
                invoice_id=start["invoice_id"],
                on_date=date.fromisoformat(start["on_date"]) if start["on_date"] else None,
            ),
            "status": JobStatus(document["status"]),
            "created_at": datetime.fromisoformat(document["created_at"]),
            "updated_at": datetime.fromisoformat(document["updated_at"]),
        }
    )
