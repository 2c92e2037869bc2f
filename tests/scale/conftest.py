"""A running system of these tests' own, on the run's broker and Redis: scaling a consumer out
and killing a replica must not meet what other tests left behind on a shared stack."""

from __future__ import annotations

import pytest
import redis

from tests.integration.transform.keap_stand_in import KeapStandIn, hooks_at_once
from tests.stack import Stack, running_stack


@pytest.fixture(scope="module")
def scale_stack(kafka_server, redis_server):
    with running_stack(kafka_server, redis_server.address) as stack:
        stack.lift_ledger_limits()
        yield stack


@pytest.fixture(scope="module")
def stack_redis(scale_stack: Stack):
    client = redis.Redis.from_url(scale_stack.settings.redis_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def keap(scale_stack: Stack, stack_redis) -> KeapStandIn:
    return hooks_at_once(scale_stack.keap_url, scale_stack.settings, stack_redis)
