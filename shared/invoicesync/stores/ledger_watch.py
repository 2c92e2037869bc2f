"""What ReverseSync's two ways of hearing about ledger payments have done lately, for Health and
Connections: the ledger calls the payment poll made per tenant and day, and, per provider, when
a signed webhook (or Xero's intent-to-receive check) last arrived and when one was refused.

The webhook app and the worker write it; the admin console reads it. Webhook keys belong to the
app at Xero and Intuit, not to a tenant, so their state is kept per provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import redis

from invoicesync.stores.redis_connection import reply_text

USAGE_KEPT_SECONDS = 3 * 86_400
SECONDS_A_DAY = 86_400


def poll_calls_key(tenant_id: str, day: date) -> str:
    return f"invoicesync:tenant:{tenant_id}:reverse-sync:ledger-calls:{day.isoformat()}"


def webhook_state_key(provider: str) -> str:
    return f"invoicesync:ledger-webhooks:{provider}"


def scheduled_poll_calls_per_day(interval_seconds: float) -> int:
    """Calls a day the schedule alone makes for one tenant: one each interval."""
    return -(-SECONDS_A_DAY // max(int(interval_seconds), 1))


@dataclass(frozen=True)
class WebhookState:
    """`verified_at`: the last signed delivery (an intent-to-receive check included);
    `refused_at`: the last one whose signature did not match the configured key."""

    verified_at: datetime | None
    refused_at: datetime | None
    intent_checked_at: datetime | None


class LedgerWatch:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    # -- the payment poll ------------------------------------------------------------------

    def count_poll_calls(self, tenant_id: str, calls: int, at: datetime) -> None:
        key = poll_calls_key(tenant_id, at.date())
        pipe = self._redis.pipeline()
        pipe.incrby(key, calls)
        pipe.expire(key, USAGE_KEPT_SECONDS)
        pipe.execute()

    def poll_calls_on(self, tenant_id: str, day: date) -> int:
        raw = self._redis.get(poll_calls_key(tenant_id, day))
        return int(reply_text(raw)) if raw else 0

    # -- webhooks --------------------------------------------------------------------------

    def webhook_signed(self, provider: str, at: datetime, *, intent_check: bool) -> None:
        names = ["verified_at", "intent_checked_at"] if intent_check else ["verified_at"]
        self._redis.hset(webhook_state_key(provider), mapping=dict.fromkeys(names, at.isoformat()))

    def webhook_refused(self, provider: str, at: datetime) -> None:
        self._redis.hset(webhook_state_key(provider), "refused_at", at.isoformat())

    def webhook_state(self, provider: str) -> WebhookState:
        raw = {
            reply_text(name): reply_text(value)
            for name, value in self._redis.hgetall(webhook_state_key(provider)).items()
        }

        def moment(name: str) -> datetime | None:
            return datetime.fromisoformat(raw[name]) if name in raw else None

        return WebhookState(
            moment("verified_at"), moment("refused_at"), moment("intent_checked_at")
        )
