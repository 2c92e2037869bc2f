"""The activity log: what happened to each invoice and payment, per tenant, newest first."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import redis

from invoicesync.errors import InvalidInput
from invoicesync.events import SyncAction, SyncResult
from invoicesync.stores.redis_connection import reply_text

DEFAULT_RETENTION = 10_000
HOURLY_RETENTION_SECONDS = 35 * 24 * 3600
_SCAN_BATCH = 200


def _base(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:activity"


@dataclass(frozen=True)
class ActivityEntry:
    entry_id: str
    tenant_id: str
    result: SyncResult

    def to_json(self) -> dict:
        result = self.result
        return {
            "id": self.entry_id,
            "recorded_at": result.recorded_at.isoformat(),
            "outcome": result.action.value,
            "object_type": result.object_type,
            "keap_id": result.keap_id,
            "invoice_number": result.invoice_number,
            "destination": result.destination,
            "destination_id": result.destination_id,
            "reason": result.reason,
        }


@dataclass(frozen=True)
class ActivityPage:
    entries: list[ActivityEntry]
    next_cursor: str | None


class ActivityLog:
    """Indexes: all entries, per outcome, per invoice number/Keap id; hourly outcome counts."""

    def __init__(self, client: redis.Redis, *, retention: int = DEFAULT_RETENTION) -> None:
        self._redis = client
        self._retention = retention

    def record(self, tenant_id: str, entry_id: str, result: SyncResult) -> bool:
        """Store one result once (a redelivered event is a no-op). True if it was new."""
        base = _base(tenant_id)
        entry = ActivityEntry(entry_id, tenant_id, result)
        if self._redis.hexists(f"{base}:entries", entry_id):
            return False
        score = result.recorded_at.timestamp()
        hour = result.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H")
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(f"{base}:entries", entry_id, json.dumps(entry.to_json()))
        pipe.zadd(f"{base}:all", {entry_id: score})
        pipe.zadd(f"{base}:outcome:{result.action.value}", {entry_id: score})
        for reference in _references(result):
            pipe.zadd(f"{base}:ref:{reference}", {entry_id: score})
        pipe.hincrby(f"{base}:hourly", f"{hour}|{result.action.value}", 1)
        pipe.expire(f"{base}:hourly", HOURLY_RETENTION_SECONDS)
        pipe.execute()
        self._trim(tenant_id)
        return True

    def page(
        self,
        tenant_id: str,
        *,
        outcome: SyncAction | None = None,
        query: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> ActivityPage:
        """Newest first. `cursor` is the `next_cursor` of the previous page."""
        base = _base(tenant_id)
        index = f"{base}:all"
        if query:
            index = f"{base}:ref:{query.strip().lower()}"
        elif outcome is not None:
            index = f"{base}:outcome:{outcome.value}"
        low = since.timestamp() if since else "-inf"
        high: float | str = "+inf"
        after: tuple[float, str] | None = None
        if cursor:
            after = _parse_cursor(cursor)
            high = after[0]
        entries: list[ActivityEntry] = []
        offset = 0
        while len(entries) < limit:
            # redis-py types the reply for every option at once; withscores gives pairs.
            batch = cast(
                "list[tuple[bytes, float]]",
                self._redis.zrevrangebyscore(
                    index, high, low, start=offset, num=_SCAN_BATCH, withscores=True
                ),
            )
            if not batch:
                break
            offset += len(batch)
            for member, score in batch:
                entry_id = member.decode()
                if after and (score, entry_id) >= after:
                    continue
                entry = self._load(base, entry_id, tenant_id)
                if entry is None or (outcome and entry.result.action is not outcome):
                    continue
                entries.append(entry)
                if len(entries) == limit:
                    break
        next_cursor = None
        if len(entries) == limit:
            last = entries[-1]
            next_cursor = f"{last.result.recorded_at.timestamp()!r}:{last.entry_id}"
        return ActivityPage(entries, next_cursor)

    def hourly_counts(self, tenant_id: str) -> dict[str, dict[str, int]]:
        """{"2026-01-01T12": {"created": 3, "failed": 1}, ...} for charts."""
        counts: dict[str, dict[str, int]] = {}
        for field, value in self._redis.hgetall(f"{_base(tenant_id)}:hourly").items():
            hour, action = reply_text(field).split("|", 1)
            counts.setdefault(hour, {})[action] = int(value)
        return dict(sorted(counts.items()))

    def totals(self, tenant_id: str) -> dict[str, int]:
        base = _base(tenant_id)
        return {
            action.value: self._redis.zcard(f"{base}:outcome:{action.value}")
            for action in SyncAction
        }

    def _load(self, base: str, entry_id: str, tenant_id: str) -> ActivityEntry | None:
        raw = self._redis.hget(f"{base}:entries", entry_id)
        if raw is None:
            return None
        document = json.loads(raw)
        result = SyncResult(
            destination=document["destination"],
            object_type=document["object_type"],
            keap_id=document["keap_id"],
            action=SyncAction(document["outcome"]),
            recorded_at=datetime.fromisoformat(document["recorded_at"]),
            reason=document["reason"],
            destination_id=document["destination_id"],
            invoice_number=document["invoice_number"],
        )
        return ActivityEntry(entry_id, tenant_id, result)

    def _trim(self, tenant_id: str) -> None:
        base = _base(tenant_id)
        excess = self._redis.zcard(f"{base}:all") - self._retention
        if excess <= 0:
            return
        for member in cast("list[bytes]", self._redis.zrange(f"{base}:all", 0, excess - 1)):
            entry = self._load(base, member.decode(), tenant_id)
            pipe = self._redis.pipeline(transaction=True)
            pipe.zrem(f"{base}:all", member)
            pipe.hdel(f"{base}:entries", member)
            if entry is not None:
                pipe.zrem(f"{base}:outcome:{entry.result.action.value}", member)
                for reference in _references(entry.result):
                    pipe.zrem(f"{base}:ref:{reference}", member)
            pipe.execute()


def _references(result: SyncResult) -> set[str]:
    found = {result.keap_id.lower()}
    if result.invoice_number:
        found.add(result.invoice_number.lower())
    return found


def _parse_cursor(cursor: str) -> tuple[float, str]:
    score, _, entry_id = cursor.partition(":")
    try:
        value = float(score)
    except ValueError:
        value = math.nan
    # float() also reads "nan" and "inf", which Redis refuses as a score bound.
    if not math.isfinite(value) or not entry_id:
        raise InvalidInput("cursor is not one this API issued", field="cursor")
    return value, entry_id
