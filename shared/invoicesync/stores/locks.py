"""Per-tenant distributed locks (redis-py's token lock): one replica at a time does the work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis
from redis.exceptions import LockError

from invoicesync.errors import Transient


def lock_key(name: str, tenant_id: str) -> str:
    return f"invoicesync:lock:{name}:{tenant_id}"


@contextmanager
def tenant_lock(
    client: redis.Redis, name: str, tenant_id: str, ttl_seconds: float, wait_seconds: float
) -> Iterator[None]:
    """Hold `name` for `tenant_id`; the lock expires after `ttl_seconds` if its holder dies.

    Raises Transient when another holder keeps it longer than `wait_seconds`.
    """
    lock = client.lock(
        lock_key(name, tenant_id),
        timeout=ttl_seconds,
        blocking=True,
        blocking_timeout=wait_seconds,
        sleep=0.02,
    )
    try:
        acquired = lock.acquire()
    except redis.RedisError as exc:
        raise Transient(f"lock {name} for {tenant_id}: Redis unavailable: {exc}") from exc
    if not acquired:
        raise Transient(f"lock {name} for {tenant_id} is busy; try again later")
    try:
        yield
    finally:
        # If our lease ran out, someone else may hold the lock now: theirs to release.
        with suppress(LockError):
            lock.release()
