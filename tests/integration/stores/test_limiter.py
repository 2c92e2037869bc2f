"""The shared limiter in the real Redis, on a controllable clock shared by two "replicas"."""

from __future__ import annotations

import pytest

from invoicesync.errors import RateLimited
from invoicesync.kafka.consumer_loop import INLINE_WAIT_SECONDS
from invoicesync.stores.limiter import (
    XERO_INVOICE_CREATION_PACE,
    XERO_TENANT,
    Limiter,
    RateLimit,
    TokenBucket,
)


class FakeTime:
    """Wall time that only moves when a limiter sleeps or the test advances it."""

    def __init__(self, start: float = 1_700_000_000.5) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def replica(redis_client, fake: FakeTime) -> Limiter:
    return Limiter(redis_client, fake.clock, sleep=fake.sleep)


def test_the_call_over_the_limit_raises_with_the_time_until_a_slot_frees(store_redis, unique_name):
    fake = FakeTime()
    limiter = replica(store_redis, fake)
    rules = [RateLimit(f"{unique_name}-minute", 3, 60)]
    for _ in range(3):
        limiter.acquire(unique_name, rules, max_wait=0)
    fake.now += 10
    with pytest.raises(RateLimited) as raised:
        limiter.acquire(unique_name, rules, max_wait=0, tenant_id=unique_name)
    assert raised.value.retry_after == pytest.approx(50, abs=1.0)
    assert raised.value.tenant_id == unique_name


def test_the_call_over_the_limit_waits_when_allowed_and_then_goes_through(store_redis, unique_name):
    fake = FakeTime()
    limiter = replica(store_redis, fake)
    rules = [RateLimit(f"{unique_name}-minute", 3, 60)]
    for _ in range(3):
        limiter.acquire(unique_name, rules, max_wait=0)
    limiter.acquire(unique_name, rules, max_wait=120)
    assert sum(fake.slept) == pytest.approx(60, abs=1.0)
    limiter.acquire(unique_name, rules, max_wait=0)
    limiter.acquire(unique_name, rules, max_wait=0)
    with pytest.raises(RateLimited):  # the new window is full again
        limiter.acquire(unique_name, rules, max_wait=0)


def test_two_replicas_share_one_budget(store_redis, unique_name):
    fake = FakeTime()
    first, second = replica(store_redis, fake), replica(store_redis, fake)
    rules = [RateLimit(f"{unique_name}-minute", 2, 60)]
    first.acquire(unique_name, rules, max_wait=0)
    second.acquire(unique_name, rules, max_wait=0)
    with pytest.raises(RateLimited):
        first.acquire(unique_name, rules, max_wait=0)


def test_per_app_rules_count_every_tenant_while_tenant_rules_do_not_mix(store_redis, unique_name):
    fake = FakeTime()
    limiter = replica(store_redis, fake)
    app_rule = RateLimit(f"{unique_name}-app", 3, 60, per_app=True)
    tenant_rule = RateLimit(f"{unique_name}-tenant", 2, 60)
    limiter.acquire(f"{unique_name}-a", [tenant_rule, app_rule], max_wait=0)
    limiter.acquire(f"{unique_name}-a", [tenant_rule, app_rule], max_wait=0)
    with pytest.raises(RateLimited):
        limiter.acquire(f"{unique_name}-a", [tenant_rule, app_rule], max_wait=0)
    limiter.acquire(f"{unique_name}-b", [tenant_rule, app_rule], max_wait=0)
    with pytest.raises(RateLimited):  # tenant b has room, the app does not
        limiter.acquire(f"{unique_name}-b", [tenant_rule, app_rule], max_wait=0)


def test_a_refused_call_does_not_use_up_any_rule(store_redis, unique_name):
    fake = FakeTime()
    limiter = replica(store_redis, fake)
    roomy = RateLimit(f"{unique_name}-roomy", 2, 60)
    tight = RateLimit(f"{unique_name}-tight", 1, 60)
    limiter.acquire(unique_name, [tight], max_wait=0)
    with pytest.raises(RateLimited):
        limiter.acquire(unique_name, [roomy, tight], max_wait=0)
    limiter.acquire(unique_name, [roomy], max_wait=0)
    limiter.acquire(unique_name, [roomy], max_wait=0)


def test_a_penalty_from_one_replica_holds_back_the_other(store_redis, unique_name):
    fake = FakeTime()
    first, second = replica(store_redis, fake), replica(store_redis, fake)
    rules = [RateLimit(f"{unique_name}-minute", 100, 60)]
    first.penalise(unique_name, 30)
    with pytest.raises(RateLimited) as raised:
        second.acquire(unique_name, rules, max_wait=5)
    assert raised.value.retry_after == pytest.approx(30, abs=0.01)
    first.penalise(unique_name, 5)  # a shorter penalty never shortens a longer one
    fake.now += 29
    with pytest.raises(RateLimited):
        second.acquire(unique_name, rules, max_wait=0)
    fake.now += 1.5
    second.acquire(unique_name, rules, max_wait=0)
    second.acquire(f"{unique_name}-other", rules, max_wait=0)


def test_concurrency_slots_are_limited_and_a_crashed_holders_lease_expires(
    store_redis, unique_name
):
    fake = FakeTime()
    limiter = replica(store_redis, fake)
    crashed = limiter.concurrency(unique_name, 2, lease_seconds=20)
    crashed.__enter__()  # never exited: the holder died mid-call
    with limiter.concurrency(unique_name, 2, lease_seconds=20):
        with (
            pytest.raises(RateLimited) as raised,
            limiter.concurrency(unique_name, 2, lease_seconds=20, max_wait=0),
        ):
            pass
        assert raised.value.retry_after == pytest.approx(20, abs=0.01)
    with limiter.concurrency(unique_name, 2, lease_seconds=20, max_wait=0):
        pass  # the slot released on exit is free again
    fake.now += 21
    with (
        limiter.concurrency(unique_name, 2, lease_seconds=20, max_wait=0),
        limiter.concurrency(unique_name, 2, lease_seconds=20, max_wait=0),
    ):
        pass  # both slots usable: the crashed lease has run out


def test_a_per_second_rule_never_lets_a_call_go_before_a_full_second_has_passed(
    store_redis, unique_name
):
    """QBO's 10/second per realm: the call after a full second's quota waits the whole second
    since the first, not a bucket less."""
    fake = FakeTime(start=1_700_000_000.999)
    limiter = replica(store_redis, fake)
    rules = [RateLimit(f"{unique_name}-second", 8, 1)]
    first_at = fake.now
    for _ in range(8):
        limiter.acquire(unique_name, rules, max_wait=0)
        fake.now += 0.01

    limiter.acquire(unique_name, rules, max_wait=5)

    assert fake.now - first_at >= 1.0
    assert fake.now - first_at <= 1.1


def test_a_take_along_other_commands_shares_one_bucket_with_take_and_survives_a_script_flush(
    store_redis, unique_name
):
    """The hook receiver's one round trip: the share's token and its reads together. A Redis
    that restarted has forgotten the script, and the take still goes through."""
    fake = FakeTime()
    limiter = replica(store_redis, fake)
    bucket = TokenBucket(unique_name, capacity=2, refill_per_second=0.5, min_retry_seconds=0.1)
    store_redis.set(f"{unique_name}:read", "value")
    store_redis.script_flush()

    def queue(pipe):
        pipe.get(f"{unique_name}:read")

    first = limiter.take_along(unique_name, bucket, queue)
    limiter.take(unique_name, bucket)
    refusal, replies = limiter.take_along(unique_name, bucket, queue)

    assert first == (None, [b"value"])
    assert replies == [b"value"]
    assert isinstance(refusal, RateLimited)
    assert refusal.retry_after == pytest.approx(2.0)
    fake.now += 2.0
    assert limiter.take_along(unique_name, bucket, queue)[0] is None


def test_a_busy_xero_tenants_invoice_creations_are_paced_within_the_minute_limit(
    store_redis, unique_name
):
    """A tenant creating invoices as fast as it can, as the Xero client does (its pace first,
    then the minute and day windows). No 60 s ever holds more than Xero's 60 calls, the
    window itself never has to refuse (which would hold the tenant for the rest of the
    minute), and each refusal is long enough that the consumer loop sets the tenant aside to
    gather a batch."""
    fake = FakeTime()
    limiter = replica(store_redis, fake)
    windows = [
        RateLimit(f"{unique_name}-{rule.name}", rule.limit, rule.window_seconds)
        for rule in XERO_TENANT
    ]
    made: list[float] = []
    refusals: list[float] = []
    started = fake.now
    while fake.now - started < 300:
        try:
            limiter.take(unique_name, XERO_INVOICE_CREATION_PACE)
        except RateLimited as refused:
            refusals.append(refused.retry_after)
        else:
            limiter.acquire(unique_name, windows, max_wait=0)  # raises if a window refuses
            made.append(fake.now)
        fake.now += 0.05

    busiest = max(sum(1 for t in made if start <= t < start + 60) for start in made)
    assert busiest <= 60
    assert len([t for t in made if t < started + 1]) == XERO_INVOICE_CREATION_PACE.capacity
    assert len([t for t in made if t >= started + 60]) >= 40 * 4 - 1  # 40 a minute after that
    assert refusals and min(refusals) > INLINE_WAIT_SECONDS
