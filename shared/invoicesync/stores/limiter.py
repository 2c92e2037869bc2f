"""The one rate limiter every replica shares: sliding windows, penalties, concurrency leases and
per-tenant token buckets (each tenant's fair share of app-wide capacity).

Each rule counts calls in `BUCKETS` sub-windows of its window (a Redis hash per rule), checked
and recorded for every rule of a call in one Lua script, so replicas can never overshoot
together. A bucket counts until it has wholly left the window, which errs on the side of
waiting a little longer than strictly needed, never on the side of a 429.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import redis
from redis.client import Pipeline
from redis.commands.core import Script

from invoicesync.errors import RateLimited, Transient

BUCKETS = 60


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` calls in any `window_seconds`. `per_app` rules are counted once for the
    whole client app (every tenant, every service) instead of per scope key."""

    name: str
    limit: int
    window_seconds: float
    per_app: bool = False


def keap_app_limits(
    calls_per_minute: int, calls_per_day: int, calls_per_second: int
) -> tuple[RateLimit, ...]:
    """Keap's per-client limits (1,500 a minute and 150,000 a day unless Keap granted more),
    and our margin under its spike arrest."""
    return (
        RateLimit("keap-app-second", calls_per_second, 1, per_app=True),
        RateLimit("keap-app-minute", calls_per_minute, 60, per_app=True),
        RateLimit("keap-app-day", calls_per_day, 86_400, per_app=True),
    )


XERO_TENANT: tuple[RateLimit, ...] = (
    RateLimit("xero-tenant-minute", 60, 60),
    RateLimit("xero-tenant-day", 5_000, 86_400),
)
XERO_TENANT_CONCURRENCY = 5
XERO_APP: tuple[RateLimit, ...] = (RateLimit("xero-app-minute", 10_000, 60, per_app=True),)
# Intuit's limits page (qbo.md §8): 500 requests/minute per realm, and 10 requests/second per
# realm and app (one app here, so per realm). The second is kept to 8, qbo.md's client policy:
# calls spaced a second apart here can arrive closer together at Intuit, and a 429 costs 60 s.
QBO_REALM: tuple[RateLimit, ...] = (
    RateLimit("qbo-realm-minute", 500, 60),
    RateLimit("qbo-realm-second", 8, 1),
)
QBO_REALM_CONCURRENCY = 10
QBO_BATCH: tuple[RateLimit, ...] = (RateLimit("qbo-realm-batch-minute", 40, 60),)


@dataclass(frozen=True)
class TokenBucket:
    """A tenant's share: up to `capacity` calls at once, refilled at `refill_per_second`.

    An empty bucket is never waited for inline: `take` answers at once with at least
    `min_retry_seconds`, long enough that the consumer loop sets the tenant's work aside and
    goes on with other tenants, and an HTTP caller is told to come back."""

    name: str
    capacity: float
    refill_per_second: float
    min_retry_seconds: float = 2.0


# A tenant's invoice creations in Xero, spent at an even pace within its 60 calls a minute: a
# bucket of 20 refilled at 40 a minute never lets more than 60 through in any minute
# (20 + 40). Once a busy tenant's burst is spent, its new invoices wait about 1.5 s and go as
# one batch, instead of one call per invoice until the minute runs out and then nothing for
# the rest of that minute. Other calls (reads, payments) are not paced: they cannot batch.
XERO_INVOICE_CREATION_PACE = TokenBucket(
    "xero-invoice-creation-pace", 20, 40 / 60, min_retry_seconds=1.5
)


# KEYS: the bucket hash. ARGV: now, capacity, refill per second, min retry. Returns 0 when a
# token was taken, otherwise the seconds to wait (as a string).
_TAKE = """
local now = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1] or ARGV[2])
local at = tonumber(stored[2] or ARGV[1])
if now > at then tokens = math.min(capacity, tokens + (now - at) * rate) end
local ttl_ms = math.ceil(capacity / rate * 1000) + 1000
if tokens >= 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(math.max(now, at)))
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
  return 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], ttl_ms)
return tostring(math.max((1 - tokens) / rate, tonumber(ARGV[4])))
"""

# KEYS: penalty key, then one hash per rule. ARGV: now, then (limit, window) per rule.
# Returns 0 when the call was recorded, otherwise the seconds to wait (as a string).
_ACQUIRE = """
local now = tonumber(ARGV[1])
local buckets = tonumber(ARGV[2])
local penalty = tonumber(redis.call('GET', KEYS[1]) or '0')
local wait = 0
if penalty > now then wait = penalty - now end
local currents = {}
for i = 2, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local size = window / buckets
  local current = math.floor(now / size)
  -- one bucket more than the window holds: a call stops counting a whole window after it was
  -- made, never up to a bucket early (which a 1-second window would feel)
  local oldest = current - buckets
  currents[i] = current
  local stored = redis.call('HGETALL', KEYS[i])
  local counts = {}
  local total = 0
  for j = 1, #stored, 2 do
    local bucket = tonumber(stored[j])
    local count = tonumber(stored[j + 1])
    if bucket < oldest then
      redis.call('HDEL', KEYS[i], stored[j])
    else
      total = total + count
      table.insert(counts, {bucket, count})
    end
  end
  if total + 1 > limit then
    table.sort(counts, function(a, b) return a[1] < b[1] end)
    local excess = total + 1 - limit
    for _, entry in ipairs(counts) do
      excess = excess - entry[2]
      if excess <= 0 then
        local free_at = (entry[1] + buckets + 1) * size
        if free_at - now > wait then wait = free_at - now end
        break
      end
    end
  end
end
if wait > 0 then return tostring(wait) end
for i = 2, #KEYS do
  local window = tonumber(ARGV[2 * i])
  redis.call('HINCRBY', KEYS[i], currents[i], 1)
  redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000) + 1000)
end
return 0
"""

_PENALISE = """
local until_at = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_at > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
end
return 0
"""

# KEYS: the lease set. ARGV: now, limit, lease expiry, holder, lease seconds. Returns 0 when leased,
# otherwise the seconds until the earliest lease runs out.
_LEASE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  local ttl = redis.call('PTTL', KEYS[1])
  local lease_ms = math.ceil(tonumber(ARGV[5]) * 1000) + 1000
  if ttl < lease_ms then redis.call('PEXPIRE', KEYS[1], lease_ms) end
  return 0
end
local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(earliest[2]) - now)
"""

_LEASE_POLL_SECONDS = 0.05


def _check_taken(reply: bytes | int, tenant_id: str, bucket: TokenBucket) -> None:
    wait = float(reply)
    if wait > 0:
        raise RateLimited(
            f"tenant {tenant_id} is over its {bucket.name} share",
            retry_after=round(wait, 3),
            tenant_id=tenant_id,
        )


def _penalty_key(scope_key: str) -> str:
    return f"invoicesync:limiter:{scope_key}:penalty"


def _rule_key(scope_key: str, rule: RateLimit) -> str:
    owner = "app" if rule.per_app else scope_key
    return f"invoicesync:limiter:{owner}:{rule.name}"


def _bucket_key(tenant_id: str, bucket: TokenBucket) -> str:
    return f"invoicesync:limiter:tenant:{tenant_id}:{bucket.name}"


def _slots_key(scope_key: str) -> str:
    return f"invoicesync:limiter:{scope_key}:slots"


class Limiter:
    """Shared across replicas through Redis; `clock` is wall time so replicas agree on it."""

    def __init__(
        self,
        client: redis.Redis,
        clock: Callable[[], float] = time.time,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._redis = client
        self._clock = clock
        self._sleep = sleep
        self._acquire = client.register_script(_ACQUIRE)
        self._penalise = client.register_script(_PENALISE)
        self._lease = client.register_script(_LEASE)
        self._take = client.register_script(_TAKE)

    def take(self, tenant_id: str, bucket: TokenBucket) -> None:
        """Take one token from the tenant's bucket, or raise RateLimited at once (never waits)."""
        args = self._take_args(bucket)
        wait = self._run(self._take, [_bucket_key(tenant_id, bucket)], args)
        _check_taken(wait, tenant_id, bucket)

    def take_along(
        self, tenant_id: str, bucket: TokenBucket, queue: Callable[[Pipeline], None]
    ) -> tuple[RateLimited | None, list]:
        """`take`, in the same round trip as the commands `queue` adds to a pipeline: the
        refusal (None when a token was taken) and their replies. Redis errors are raised as
        they are, for the caller's outage handling."""
        key, args = _bucket_key(tenant_id, bucket), self._take_args(bucket)
        try:
            replies = self._take_in_pipeline(key, args, queue)
        except redis.exceptions.NoScriptError:
            self._redis.script_load(_TAKE)  # a restarted Redis forgot it
            replies = self._take_in_pipeline(key, args, queue)
        try:
            _check_taken(replies[0], tenant_id, bucket)
        except RateLimited as refusal:
            return refusal, replies[1:]
        return None, replies[1:]

    def _take_in_pipeline(self, key: str, args: list, queue: Callable[[Pipeline], None]) -> list:
        pipe = self._redis.pipeline(transaction=False)
        # EVALSHA, not the Script: a pipeline running a Script asks SCRIPT EXISTS first.
        pipe.evalsha(self._take.sha, 1, key, *args)
        queue(pipe)
        return pipe.execute()

    def _take_args(self, bucket: TokenBucket) -> list[float]:
        return [self._clock(), bucket.capacity, bucket.refill_per_second, bucket.min_retry_seconds]

    def acquire(
        self,
        scope_key: str,
        rules: Sequence[RateLimit],
        *,
        max_wait: float,
        tenant_id: str | None = None,
    ) -> None:
        """Record one call against every rule, waiting up to `max_wait` seconds in total.

        Raises RateLimited (with how long to wait) when a rule or a penalty needs longer.
        """
        waited = 0.0
        keys = [_penalty_key(scope_key), *(_rule_key(scope_key, rule) for rule in rules)]
        while True:
            args: list[float | int] = [self._clock(), BUCKETS]
            for rule in rules:
                args += [rule.limit, rule.window_seconds]
            wait = float(self._run(self._acquire, keys, args))
            if wait <= 0:
                return
            if waited + wait > max_wait:
                raise RateLimited(
                    f"rate limit for {scope_key} reached",
                    retry_after=round(wait, 3),
                    tenant_id=tenant_id,
                )
            self._sleep(wait)
            waited += wait

    def used(self, scope_key: str, rule: RateLimit) -> int:
        """Calls counted against `rule` in its window right now (as `acquire` counts them)."""
        size = rule.window_seconds / BUCKETS
        oldest = int(self._clock() // size) - BUCKETS
        try:
            stored = self._redis.hgetall(_rule_key(scope_key, rule))
        except redis.RedisError as exc:
            raise Transient(f"rate limiter unavailable: {exc}") from exc
        return sum(int(count) for bucket, count in stored.items() if int(bucket) >= oldest)

    def penalise(self, scope_key: str, retry_after: float) -> None:
        """Every replica waits until `retry_after` seconds from now before its next call."""
        until_at = self._clock() + retry_after
        self._run(self._penalise, [_penalty_key(scope_key)], [until_at, retry_after])

    @contextmanager
    def concurrency(
        self,
        scope_key: str,
        limit: int,
        lease_seconds: float,
        *,
        max_wait: float = 30.0,
        tenant_id: str | None = None,
    ) -> Iterator[None]:
        """Hold one of `limit` slots. A holder that crashes loses its slot when the lease ends,
        so leases must outlast the longest call they cover."""
        key, holder = _slots_key(scope_key), uuid.uuid4().hex
        deadline = self._clock() + max_wait
        while True:
            now = self._clock()
            wait = float(
                self._run(
                    self._lease, [key], [now, limit, now + lease_seconds, holder, lease_seconds]
                )
            )
            if wait <= 0:
                break
            if now + min(wait, _LEASE_POLL_SECONDS) > deadline:
                raise RateLimited(
                    f"all {limit} concurrent slots for {scope_key} are busy",
                    retry_after=round(wait, 3),
                    tenant_id=tenant_id,
                )
            self._sleep(min(wait, _LEASE_POLL_SECONDS))
        try:
            yield
        finally:
            self._run_release(key, holder)

    def _run_release(self, key: str, holder: str) -> None:
        with suppress(redis.RedisError):  # a lease we cannot remove runs out by itself
            self._redis.zrem(key, holder)

    @staticmethod
    def _run(script: Script, keys: list[str], args: Sequence[float | int | str]) -> bytes | int:
        try:
            return script(keys=keys, args=args)
        except redis.RedisError as exc:
            raise Transient(f"rate limiter unavailable: {exc}") from exc
