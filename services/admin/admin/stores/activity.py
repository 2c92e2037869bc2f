"""The activity log: what happened to each invoice and payment, per tenant, newest first, and
which of them failed last (to drive them again)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

import redis
from redis.client import Pipeline

from invoicesync.errors import InvalidInput
from invoicesync.events import SyncAction, SyncResult
from invoicesync.stores.redis_connection import reply_text

DEFAULT_RETENTION = 10_000
HOURLY_RETENTION_SECONDS = 35 * 24 * 3600
_SCAN_BATCH = 200
# Ids Keap does not know (a hook flood of made-up ids, deleted orders) collapse into one entry
# per tenant per hour, so they can never push real entries out of the retained log.
NOT_FOUND_CODE = "not_found_in_keap"
_COLLAPSED_SEEN_SECONDS = 3 * 3600


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
class FailedObject:
    """A Keap order, invoice or payment whose latest outcome is a failure."""

    object_type: str
    keap_id: str
    failed_at: float  # the failure's recorded_at, as a Unix timestamp


# What the failing index keeps: Keap's own objects, which a notification can name again (a
# ReverseSync failure names a ledger payment, which only its own feed brings back).
KEAP_OBJECT_TYPES = frozenset({"order", "invoice", "payment"})
# Outcomes that settle an object: a failure recorded before one of them is no longer the latest.
_SETTLING = frozenset({SyncAction.CREATED, SyncAction.UPDATED, SyncAction.SKIPPED})


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
        if result.reason_code == NOT_FOUND_CODE:
            return self._record_not_found(tenant_id, entry_id, result)
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
        _index_failure(pipe, base, result, score)
        pipe.execute()
        self._trim(tenant_id)
        return True

    def _record_not_found(self, tenant_id: str, entry_id: str, result: SyncResult) -> bool:
        """One entry per hour says how many ids Keap did not know, and the latest of them."""
        base = _base(tenant_id)
        hour = result.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H")
        seen = f"{base}:not-found-seen:{hour}"
        if not self._redis.sadd(seen, entry_id):
            return False  # a redelivered event
        self._redis.expire(seen, _COLLAPSED_SEEN_SECONDS)
        count = int(self._redis.scard(seen))
        collapsed_id = f"not-found-{hour}"
        reason = f"{result.reason}: {count} ids this hour, the latest {result.keap_id}"
        collapsed = ActivityEntry(collapsed_id, tenant_id, replace(result, reason=reason))
        score = result.recorded_at.timestamp()
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(f"{base}:entries", collapsed_id, json.dumps(collapsed.to_json()))
        pipe.zadd(f"{base}:all", {collapsed_id: score})
        pipe.zadd(f"{base}:outcome:{result.action.value}", {collapsed_id: score})
        # No per-id search index: a flood of made-up ids must not grow Redis by a key per id.
        pipe.hincrby(f"{base}:hourly", f"{hour}|{result.action.value}", 1)
        pipe.expire(f"{base}:hourly", HOURLY_RETENTION_SECONDS)
        pipe.execute()
        self._trim(tenant_id)
        return True

    def failing(self, tenant_id: str, *, since: datetime | None = None) -> list[FailedObject]:
        """Every object whose latest outcome is a failure (recorded at or after `since`), oldest
        failure first. Not bounded by the log's retention: only a later outcome settles one."""
        low = since.timestamp() if since else "-inf"
        members = cast(
            "list[tuple[bytes, float]]",
            self._redis.zrangebyscore(f"{_base(tenant_id)}:failing", low, "+inf", withscores=True),
        )
        failed = []
        for member, score in members:
            object_type, _, keap_id = reply_text(member).partition(":")
            failed.append(FailedObject(object_type, keap_id, score))
        return failed

    def forget_failures(self, tenant_id: str, failed: list[FailedObject]) -> None:
        """They were driven again: their next outcome decides. A failure recorded after the
        one listed stays."""
        if not failed:
            return
        pipe = self._redis.pipeline(transaction=False)
        for item in failed:
            member = _failing_member(item.object_type, item.keap_id)
            key = f"{_base(tenant_id)}:failing"
            pipe.eval(_FORGET_IF_NOT_NEWER, 1, key, member, repr(item.failed_at))
        pipe.execute()

    def page(
        self,
        tenant_id: str,
        *,
        outcome: SyncAction | None = None,
        query: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
        contains: str | None = None,
    ) -> ActivityPage:
        """Newest first. `cursor` is the `next_cursor` of the previous page. `query` is an exact
        invoice number or Keap id (indexed); `contains` any part of the invoice number, Keap id,
        ledger id or reason (read through the newest entries)."""
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
                if contains and not _contains(entry.result, contains):
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


def _index_failure(pipe: Pipeline, base: str, result: SyncResult, score: float) -> None:
    """A failure lists the object as failing; a later settling outcome takes it off."""
    if result.object_type not in KEAP_OBJECT_TYPES:
        return
    member = _failing_member(result.object_type, result.keap_id)
    if result.action is SyncAction.FAILED:
        pipe.zadd(f"{base}:failing", {member: score}, gt=True)
    elif result.action in _SETTLING:
        pipe.eval(_FORGET_IF_NOT_NEWER, 1, f"{base}:failing", member, repr(score))


def _failing_member(object_type: str, keap_id: str) -> str:
    return f"{object_type}:{keap_id}"


_FORGET_IF_NOT_NEWER = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


def _references(result: SyncResult) -> set[str]:
    found = {result.keap_id.lower()}
    if result.invoice_number:
        found.add(result.invoice_number.lower())
    return found


def _contains(result: SyncResult, text: str) -> bool:
    wanted = text.strip().casefold()
    fields = (result.keap_id, result.invoice_number, result.destination_id, result.reason)
    return any(wanted in (value or "").casefold() for value in fields)


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
