"""The running stack for the end-to-end tests, Keap seeding through its v2 API, and the stack's
log tails printed beside any failing test."""

from __future__ import annotations

import pytest
import redis

from tests.integration.transform.keap_stand_in import KeapStandIn, hooks_at_once
from tests.stack import Stack, stack_fixture  # noqa: F401 - this package's `stack`


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(autouse=True)
def stack_logs_on_failure(request):
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and "stack" in request.fixturenames:
        running: Stack = request.getfixturevalue("stack")
        print(running.log_tails(40))


@pytest.fixture(scope="package")
def stack_redis(stack) -> redis.Redis:
    client = redis.Redis.from_url(stack.settings.redis_url)
    yield client
    client.close()


@pytest.fixture(scope="package")
def keap(stack, stack_redis) -> KeapStandIn:
    """Seeding through Keap's real endpoints; hooks fire as soon as a change is recorded."""
    return hooks_at_once(stack.keap_url, stack.settings, stack_redis)


@pytest.fixture(scope="package", autouse=True)
def ledger_limits_off(stack) -> None:
    stack.lift_ledger_limits()
