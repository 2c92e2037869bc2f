"""Redis marks of ledger payments ReverseSync has dealt with, so repeats cost one GET."""

from __future__ import annotations

import redis

from invoicesync.stores.redis_connection import reply_text

# Long enough to outlive any webhook retry or poll overlap; Keap's own payment notes stay the
# authority after that.
MARK_TTL_SECONDS = 400 * 24 * 3600


def _handled_key(tenant_id: str, destination: str, payment_id: str, target: str) -> str:
    return (
        f"invoicesync:tenant:{tenant_id}:reverse-sync:handled:{destination}:{payment_id}:{target}"
    )


def _recorded_key(tenant_id: str, destination: str, payment_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:reverse-sync:recorded:{destination}:{payment_id}"


class HandledPayments:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def handled(self, tenant_id: str, destination: str, payment_id: str, target: str) -> bool:
        """`target` names what was done: the invoice paid, or the deletion/refund itself."""
        return bool(self._redis.exists(_handled_key(tenant_id, destination, payment_id, target)))

    def mark_handled(self, tenant_id: str, destination: str, payment_id: str, target: str) -> None:
        key = _handled_key(tenant_id, destination, payment_id, target)
        self._redis.set(key, "1", ex=MARK_TTL_SECONDS)

    def mark_recorded(self, tenant_id: str, destination: str, payment_id: str, order_id: str):
        key = _recorded_key(tenant_id, destination, payment_id)
        self._redis.sadd(key, order_id)
        self._redis.expire(key, MARK_TTL_SECONDS)

    def recorded_orders(self, tenant_id: str, destination: str, payment_id: str) -> list[str]:
        members = self._redis.smembers(_recorded_key(tenant_id, destination, payment_id))
        return sorted(reply_text(member) for member in members)
