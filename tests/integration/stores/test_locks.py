"""Per-tenant locks: one holder at a time, a busy lock is Transient, a dead holder's expires."""

from __future__ import annotations

import pytest

from invoicesync.errors import Transient
from invoicesync.stores.locks import lock_key, tenant_lock


def test_a_held_lock_makes_a_second_taker_fail_with_transient(store_redis, unique_name):
    with tenant_lock(store_redis, "poll", unique_name, ttl_seconds=5, wait_seconds=0.1):
        with (
            pytest.raises(Transient),
            tenant_lock(store_redis, "poll", unique_name, ttl_seconds=5, wait_seconds=0.1),
        ):
            pass
        with tenant_lock(store_redis, "poll", f"{unique_name}-other", 5, 0.1):
            pass  # another tenant is not blocked
    with tenant_lock(store_redis, "poll", unique_name, ttl_seconds=5, wait_seconds=0.1):
        pass


def test_a_crashed_holder_loses_the_lock_when_its_ttl_ends(store_redis, unique_name):
    abandoned = store_redis.lock(lock_key("poll", unique_name), timeout=0.3)
    assert abandoned.acquire(blocking=False)
    with tenant_lock(store_redis, "poll", unique_name, ttl_seconds=5, wait_seconds=2):
        assert unique_name in lock_key("poll", unique_name)
