"""The sender's lease in Redis: exactly one replica sends notification emails at a time."""

from __future__ import annotations

import redis
from redis.exceptions import LockError

from invoicesync.errors import Transient
from invoicesync.stores.locks import lock_key

LEASE_NAME = "notifications-sender"


class SenderLease:
    """A redis-py token lock, renewed while held; a holder that dies loses it after its TTL."""

    def __init__(self, client: redis.Redis, ttl_seconds: float, *, scope: str = "all") -> None:
        self._lock = client.lock(
            lock_key(LEASE_NAME, scope), timeout=ttl_seconds, thread_local=False
        )

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
            raise Transient(f"sender lease: Redis unavailable: {exc}") from exc

    def release(self) -> None:
        try:
            if self._lock.owned():
                self._lock.release()
        except (LockError, redis.RedisError):
            pass  # it expires by itself
