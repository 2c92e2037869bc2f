"""How close Redis is to its `maxmemory` (deploy/redis/redis.sh: `noeviction`, so past the limit
writes are refused): shown on /status and the console's Health page before that happens."""

from __future__ import annotations

from typing import Any

import redis

from invoicesync.errors import Transient


def redis_memory(client: redis.Redis, warning_ratio: float) -> dict[str, Any]:
    """Used and maximum bytes, the policy, and `near_limit` once used passes the ratio (or no
    limit is set at all, which would let Redis grow until the machine kills it)."""
    try:
        info = client.info("memory")
    except redis.RedisError as exc:
        raise Transient(f"Redis memory unavailable: {exc}") from exc
    used = int(info.get("used_memory", 0))
    limit = int(info.get("maxmemory", 0))
    policy = str(info.get("maxmemory_policy", ""))
    near_limit = limit == 0 or used >= limit * warning_ratio
    return {
        "used_bytes": used,
        "max_bytes": limit,
        "policy": policy,
        "near_limit": near_limit,
    }
