"""The poller's leadership lease in Redis: exactly one replica polls Keap at a time."""

from __future__ import annotations

import redis
from redis.exceptions import LockError

from invoicesync.errors import Transient
from invoicesync.stores.locks import lock_key

LEASE_NAME = "keap-poller"


class PollerLease:
    """A redis-py token lock the leader renews between tenants and pages; a leader that dies
    loses it after `ttl_seconds` and another replica takes over."""

    def __init__(self, client: redis.Redis, ttl_seconds: float) -> None:
        self._lock = client.lock(
            lock_key(LEASE_NAME, "all"), timeout=ttl_seconds, thread_local=False
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
            raise Transient(f"poller lease: Redis unavailable: {exc}") from exc

    def release(self) -> None:
        try:
            if self._lock.owned():
                self._lock.release()
        except (LockError, redis.RedisError):
            pass  # it expires by itself
