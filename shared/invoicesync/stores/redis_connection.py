"""The one place a Redis client is built: bytes in and out, health checks, retried connects."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from invoicesync.settings import Settings

KEY_PREFIX = "invoicesync:"


def redis_from_settings(settings: Settings) -> redis.Redis:
    """A client for `settings.redis_url`. Create it after a gunicorn fork, never at import."""
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=False,
        health_check_interval=30,
        socket_connect_timeout=5,
        socket_timeout=10,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
