"""A running system of these tests' own, on a Kafka broker and a Redis server they may stop and
start (the run's broker and the session's Redis are shared), with provider calls timing out
after 2 s instead of 30 s so a provider outage made of timeouts is quick to stage. One system
serves every test here: they run one after another on one worker (tests/conftest.py)."""

from __future__ import annotations

import pytest
import redis

from tests.infrastructure import ScriptServer, restartable_redis, start_kafka
from tests.integration.transform.keap_stand_in import KeapStandIn, hooks_at_once
from tests.stack import Stack, running_stack

OUTAGE_STACK_ENV = {"INVOICESYNC_PROVIDER_READ_TIMEOUT_SECONDS": "2"}


@pytest.fixture(scope="package")
def own_redis():
    with restartable_redis() as server:
        yield server


@pytest.fixture(scope="package")
def own_broker():
    try:
        server = start_kafka()
    except Exception as exc:  # noqa: BLE001 - no broker here: the same skip as the session's
        pytest.skip(f"no Kafka broker could be started: {exc}")
    if not isinstance(server, ScriptServer):
        server.remove()
        pytest.skip("the Kafka broker is not one these tests may stop and start")
    yield server
    server.remove()


@pytest.fixture(scope="package")
def outage_stack(own_broker, own_redis):
    with running_stack(own_broker, own_redis.address, extra_env=OUTAGE_STACK_ENV) as stack:
        stack.lift_ledger_limits()
        yield stack


@pytest.fixture(scope="package")
def stack_redis(outage_stack: Stack):
    client = redis.Redis.from_url(outage_stack.settings.redis_url)
    yield client
    client.close()


@pytest.fixture(scope="package")
def keap(outage_stack: Stack, stack_redis) -> KeapStandIn:
    return hooks_at_once(outage_stack.keap_url, outage_stack.settings, stack_redis)


@pytest.fixture(autouse=True)
def stack_logs_on_failure(request):
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and "outage_stack" in request.fixturenames:
        print(request.getfixturevalue("outage_stack").log_tails(40))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)
