"""Per-tenant notification outbox in Redis: sync results waiting to be emailed, and delivery state.

Items leave only when the caller says the SMTP server accepted them. An event seen once is not
queued again (a redelivered Kafka message must not mail the same failure twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

import redis

from invoicesync.errors import Transient
from invoicesync.events import SyncResult, SyncResultSchema
from invoicesync.stores.redis_connection import reply_text

_TENANTS_WAITING = "invoicesync:notify:tenants"
# How long an event id is remembered after it was queued, to drop redeliveries.
SEEN_RETENTION = timedelta(days=7)

# Remove sent items, and forget the tenant only if nothing arrived in the meantime.
_REMOVE_SENT = """
for i = 1, #ARGV - 1 do
    redis.call('hdel', KEYS[1], ARGV[i])
    redis.call('zrem', KEYS[2], ARGV[i])
end
if redis.call('zcard', KEYS[2]) == 0 then
    redis.call('srem', KEYS[3], ARGV[#ARGV])
end
return redis.call('zcard', KEYS[2])
"""


def _base(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:notify"


@dataclass(frozen=True)
class OutboxItem:
    entry_id: str
    queued_at: datetime
    result: SyncResult


@dataclass(frozen=True)
class DeliveryState:
    """What the sender remembers per tenant between passes."""

    last_sent_at: datetime | None = None
    last_daily_on: date | None = None
    failures: int = 0
    retry_at: datetime | None = None
    # When the sender first saw the tenant in daily mode (cleared in the other mode).
    daily_since: datetime | None = None


class NotificationOutbox:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._remove_sent = client.register_script(_REMOVE_SENT)

    def append(self, tenant_id: str, entry_id: str, result: SyncResult, now: datetime) -> bool:
        """Queue one result once. True if it was new."""
        base = _base(tenant_id)
        try:
            if self._redis.zscore(f"{base}:seen", entry_id) is not None:
                return False
            document = {"queued_at": now.isoformat(), "result": SyncResultSchema().dump(result)}
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(f"{base}:items", entry_id, json.dumps(document))
            pipe.zadd(f"{base}:queue", {entry_id: now.timestamp()})
            pipe.sadd(_TENANTS_WAITING, tenant_id)
            pipe.zadd(f"{base}:seen", {entry_id: now.timestamp()})
            pipe.zremrangebyscore(f"{base}:seen", "-inf", (now - SEEN_RETENTION).timestamp())
            pipe.execute()
        except redis.RedisError as exc:
            raise Transient(f"notification outbox unavailable: {exc}") from exc
        return True

    def tenants_waiting(self) -> list[str]:
        return sorted(reply_text(member) for member in self._redis.smembers(_TENANTS_WAITING))

    def pending(self, tenant_id: str) -> list[OutboxItem]:
        """Everything queued for the tenant, oldest first."""
        base = _base(tenant_id)
        # Members without scores: redis-py types zrange's reply for every option at once.
        entry_ids = cast("list[bytes]", self._redis.zrange(f"{base}:queue", 0, -1))
        if not entry_ids:
            return []
        documents = self._redis.hmget(f"{base}:items", entry_ids)
        items = []
        for entry_id, raw in zip(entry_ids, documents, strict=True):
            if raw is None:
                continue
            document = json.loads(raw)
            items.append(
                OutboxItem(
                    entry_id=entry_id.decode(),
                    queued_at=datetime.fromisoformat(document["queued_at"]),
                    result=SyncResult(**SyncResultSchema().load(document["result"])),
                )
            )
        return items

    def remove(self, tenant_id: str, entry_ids: list[str]) -> int:
        """Take sent (or discarded) items out; returns how many are still waiting."""
        base = _base(tenant_id)
        keys = [f"{base}:items", f"{base}:queue", _TENANTS_WAITING]
        return int(self._remove_sent(keys=keys, args=[*entry_ids, tenant_id]))

    def delivery_state(self, tenant_id: str) -> DeliveryState:
        stored = {
            reply_text(key): reply_text(value)
            for key, value in self._redis.hgetall(f"{_base(tenant_id)}:state").items()
        }
        return DeliveryState(
            last_sent_at=_moment(stored.get("last_sent_at")),
            last_daily_on=date.fromisoformat(stored["last_daily_on"])
            if stored.get("last_daily_on")
            else None,
            failures=int(stored.get("failures", 0)),
            retry_at=_moment(stored.get("retry_at")),
            daily_since=_moment(stored.get("daily_since")),
        )

    def record_daily_since(self, tenant_id: str, at: datetime) -> None:
        self._redis.hset(f"{_base(tenant_id)}:state", "daily_since", at.isoformat())

    def forget_daily(self, tenant_id: str) -> None:
        """The tenant left daily mode: a later switch back starts afresh."""
        self._redis.hdel(f"{_base(tenant_id)}:state", "daily_since", "last_daily_on")

    def record_sent(self, tenant_id: str, at: datetime, daily_on: date | None = None) -> None:
        key = f"{_base(tenant_id)}:state"
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"last_sent_at": at.isoformat(), "failures": 0})
        if daily_on is not None:
            pipe.hset(key, "last_daily_on", daily_on.isoformat())
        pipe.hdel(key, "retry_at")
        pipe.execute()

    def record_failure(self, tenant_id: str, retry_at: datetime) -> int:
        """Count one failed delivery and when to try again; returns the failures in a row."""
        key = f"{_base(tenant_id)}:state"
        pipe = self._redis.pipeline(transaction=True)
        pipe.hincrby(key, "failures", 1)
        pipe.hset(key, "retry_at", retry_at.isoformat())
        failures, _ = pipe.execute()
        return int(failures)


def _moment(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw).astimezone(UTC) if raw else None
