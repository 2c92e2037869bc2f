"""The one place a Redis client is built: bytes in and out, health checks, retried connects;
and the reading of its replies as text and moments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from invoicesync.settings import Settings

KEY_PREFIX = "invoicesync:"


def redis_from_settings(settings: Settings, *, timeout_seconds: float | None = None) -> redis.Redis:
    """A client for `settings.redis_url`. Create it after a gunicorn fork, never at import.
    `timeout_seconds` makes a client that gives up on an unreachable Redis within about that
    long (for a caller that must answer in time, such as the hook receiver)."""
    connect, reply, retries = 5.0, 10.0, 3
    if timeout_seconds is not None:
        connect, reply, retries = timeout_seconds / 2, timeout_seconds / 2, 1
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=False,
        health_check_interval=30,
        socket_connect_timeout=connect,
        socket_timeout=reply,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


def reply_text(reply: bytes | str) -> str:
    """A reply as text. Our clients never decode (bytes out), but redis-py types every reply
    `bytes | str` since it cannot see `decode_responses`."""
    return reply if isinstance(reply, str) else reply.decode()


def reply_bytes(reply: bytes | str) -> bytes:
    """A reply as the bytes it is; see `reply_text`."""
    return reply if isinstance(reply, bytes) else reply.encode()


def stored_moments(client: redis.Redis, keys: Sequence[str]) -> list[datetime | None]:
    """The ISO-8601 moments stored at `keys` (None where a key is unset), in one round trip."""
    if not keys:
        return []
    return [datetime.fromisoformat(reply_text(raw)) if raw else None for raw in client.mget(keys)]
