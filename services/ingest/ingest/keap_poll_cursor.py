"""Per-tenant poll state in Redis: the order modification-time cursor, the highest sales payment
id the payments poll has published, and when the poll last ran."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import redis

from invoicesync.stores.redis_connection import reply_text, stored_moments
from invoicesync.stores.tenants import poll_last_key


def poll_cursor_key(tenant_id: str) -> str:
    """The newest Keap `modification_time` the poll has published (ISO-8601 UTC)."""
    return f"invoicesync:{tenant_id}:poll:cursor"


def payment_cursor_key(tenant_id: str) -> str:
    """The highest Keap sales payment id the payments poll has published."""
    return f"invoicesync:{tenant_id}:poll:payment_cursor"


# Raises the payment cursor only: a late writer can never take it back.
_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# Moves the cursor forward only: a late writer can never take it back.
_ADVANCE = """
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[2]) or '-1') then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


class PollCursors:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._advance = client.register_script(_ADVANCE)
        self._raise = client.register_script(_RAISE)

    def cursor(self, tenant_id: str) -> datetime | None:
        raw = self._redis.get(poll_cursor_key(tenant_id))
        return datetime.fromisoformat(reply_text(raw)) if raw else None

    def advance(self, tenant_id: str, moment: datetime) -> bool:
        """Set the cursor to `moment` unless it already stands later. True when it moved."""
        key = poll_cursor_key(tenant_id)
        return bool(
            self._advance(
                keys=[key, f"{key}:epoch"], args=[repr(moment.timestamp()), moment.isoformat()]
            )
        )

    def payment_cursor(self, tenant_id: str) -> int | None:
        raw = self._redis.get(payment_cursor_key(tenant_id))
        return int(raw) if raw is not None else None

    def advance_payments(self, tenant_id: str, payment_id: int) -> bool:
        """Set the payment cursor to `payment_id` unless it already stands higher."""
        return bool(self._raise(keys=[payment_cursor_key(tenant_id)], args=[payment_id]))

    def last_polled(self, tenant_id: str) -> datetime | None:
        return self.last_polled_among([tenant_id])[tenant_id]

    def last_polled_among(self, tenant_ids: Sequence[str]) -> dict[str, datetime | None]:
        """Each tenant's last poll, read in one round trip."""
        keys = [poll_last_key(tenant_id) for tenant_id in tenant_ids]
        return dict(zip(tenant_ids, stored_moments(self._redis, keys), strict=True))

    def mark_polled(self, tenant_id: str, at: datetime) -> None:
        self._redis.set(poll_last_key(tenant_id), at.isoformat())

    def forget_last_poll(self, tenant_id: str) -> None:
        """Make the tenant due at once; its cursors stay where they are."""
        self._redis.delete(poll_last_key(tenant_id))
