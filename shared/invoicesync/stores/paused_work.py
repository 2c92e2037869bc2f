"""Which consumer has paused which tenant's work because something it needs is unavailable
(a provider answering 5xx or timing out, Kafka): written by the consumer loop, read by the
tenant's status and the console's Health page."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

import redis

from invoicesync.stores.redis_connection import reply_text

# A record outlives a few of the longest backoffs; a process that died with a tenant paused
# stops refreshing it, and it goes away by itself.
RECORD_TTL_SECONDS = 600


def paused_work_key(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:paused"


@dataclass(frozen=True)
class PausedWork:
    """One consumer group's pause of one tenant: since when, why, when it tries again."""

    group: str
    since: datetime
    retry_at: datetime
    reason: str
    waiting: int
    failures: int

    def to_json(self) -> dict[str, str | int]:
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["retry_at"] = self.retry_at.isoformat()
        return data


class PausedWorkBoard:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def record(self, tenant_id: str, pause: PausedWork) -> None:
        key = paused_work_key(tenant_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(key, pause.group, json.dumps(pause.to_json()))
        pipe.expire(key, RECORD_TTL_SECONDS)
        pipe.execute()

    def clear(self, tenant_id: str, group: str) -> None:
        self._redis.hdel(paused_work_key(tenant_id), group)

    def for_tenant(self, tenant_id: str) -> list[PausedWork]:
        raw = self._redis.hgetall(paused_work_key(tenant_id))
        pauses = []
        for value in raw.values():
            data = json.loads(reply_text(value))
            pauses.append(
                PausedWork(
                    group=data["group"],
                    since=datetime.fromisoformat(data["since"]),
                    retry_at=datetime.fromisoformat(data["retry_at"]),
                    reason=data["reason"],
                    waiting=int(data["waiting"]),
                    failures=int(data["failures"]),
                )
            )
        return sorted(pauses, key=lambda pause: pause.group)
