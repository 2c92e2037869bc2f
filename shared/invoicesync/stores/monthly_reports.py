"""Monthly reconciliation reports in Redis, from the admin (which reconciles) to the
notification sender (which emails): per tenant, when it opted in, the month of its last report,
the job reading the current one, and the finished reports waiting to be emailed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

import redis

from invoicesync.domain.reconciliation import Group, GroupTotal
from invoicesync.stores.redis_connection import reply_text

_READY = "invoicesync:monthly-reports:ready"


def _key(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:monthly-report"


@dataclass(frozen=True)
class MonthlyReport:
    """A finished report of one month, waiting to be emailed."""

    tenant_id: str
    month: date  # the slot month (the 1st the email goes on)
    first: date
    last: date
    job_id: str
    totals: tuple[GroupTotal, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "tenant_id": self.tenant_id,
                "month": self.month.isoformat(),
                "first": self.first.isoformat(),
                "last": self.last.isoformat(),
                "job_id": self.job_id,
                "totals": [
                    [t.group.value, t.currency, t.count, str(t.keap_amount), str(t.ledger_amount)]
                    for t in self.totals
                ],
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> MonthlyReport:
        stored = json.loads(raw)
        return cls(
            tenant_id=stored["tenant_id"],
            month=date.fromisoformat(stored["month"]),
            first=date.fromisoformat(stored["first"]),
            last=date.fromisoformat(stored["last"]),
            job_id=stored["job_id"],
            totals=tuple(
                GroupTotal(Group(g), currency, count, Decimal(keap), Decimal(ledger))
                for g, currency, count, keap, ledger in stored["totals"]
            ),
        )


class MonthlyReports:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def enabled_since(self, tenant_id: str) -> datetime | None:
        raw = self._redis.hget(_key(tenant_id), "enabled_since")
        return None if raw is None else datetime.fromisoformat(reply_text(raw))

    def record_enabled_since(self, tenant_id: str, since: datetime) -> None:
        self._redis.hset(_key(tenant_id), "enabled_since", since.isoformat())

    def forget(self, tenant_id: str) -> None:
        """Opted out: a later opt-in starts afresh (its first report on the next 1st)."""
        self._redis.delete(_key(tenant_id))

    def last_month(self, tenant_id: str) -> date | None:
        raw = self._redis.hget(_key(tenant_id), "last_month")
        return None if raw is None else date.fromisoformat(reply_text(raw))

    def job_for(self, tenant_id: str, month: date) -> str | None:
        raw = self._redis.hget(_key(tenant_id), f"job:{month.isoformat()}")
        return None if raw is None else reply_text(raw)

    def record_job(self, tenant_id: str, month: date, job_id: str) -> None:
        self._redis.hset(_key(tenant_id), f"job:{month.isoformat()}", job_id)

    def queue(self, report: MonthlyReport) -> None:
        """The month's report is made: it waits for the sender, and is not made again."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(_READY, f"{report.tenant_id}|{report.month.isoformat()}", report.to_json())
        pipe.hset(_key(report.tenant_id), "last_month", report.month.isoformat())
        pipe.hdel(_key(report.tenant_id), f"job:{report.month.isoformat()}")
        pipe.execute()

    def ready(self) -> list[MonthlyReport]:
        stored = cast("dict[bytes, bytes]", self._redis.hgetall(_READY))
        return sorted(
            (MonthlyReport.from_json(raw) for raw in stored.values()),
            key=lambda r: (r.month, r.tenant_id),
        )

    def remove(self, report: MonthlyReport) -> None:
        """Sent (or nowhere to send it)."""
        self._redis.hdel(_READY, f"{report.tenant_id}|{report.month.isoformat()}")
