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


class Lease:
    """Leadership of a long-running duty (polling, sending): taken or renewed with `hold()`
    while the holder works, lost by itself `ttl_seconds` after a holder dies."""

    def __init__(
        self, client: redis.Redis, name: str, ttl_seconds: float, *, scope: str = "all"
    ) -> None:
        self._name = name
        self._lock = client.lock(lock_key(name, scope), timeout=ttl_seconds, thread_local=False)

    def hold(self) -> bool:
        """Take the lease, or renew it if it is ours. False while another replica holds it."""
        try:
            if self._lock.owned():
                self._lock.reacquire()
                return True
            return bool(self._lock.acquire(blocking=False))
        except LockError:
            return False  # it ran out between the check and the renewal: someone else's now
        except redis.RedisError as exc:
            raise Transient(f"{self._name} lease: Redis unavailable: {exc}") from exc

    def release(self) -> None:
        with suppress(LockError, redis.RedisError):  # it expires by itself
            if self._lock.owned():
                self._lock.release()
