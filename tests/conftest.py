"""Session-wide real infrastructure: one Kafka broker per test run, one Redis server per process.

Under pytest-xdist (`make test` runs `pytest -n`), the controller starts the broker before the
workers and hands each worker its address; every worker still starts a Redis of its own, since
some tests flush or stop a database and Redis costs a fraction of a second to start."""

from __future__ import annotations

import json
import os
import uuid

import pytest
import redis

from invoicesync.kafka.topics import ensure_topics
from invoicesync.settings import Settings
from tests.infrastructure import ExternalServer, kafka_settings, start_kafka, start_redis

SHARED_KAFKA = "invoicesync_kafka_address"
SHARED_KAFKA_ERROR = "invoicesync_kafka_error"
_kafka_key = pytest.StashKey[object]()
_kafka_error_key = pytest.StashKey[str]()


# Tests that share a process stack run on one worker, so each stack is started once: the
# session-wide one of tests/e2e, and the one tests/resilience stops parts of.
SHARED_STACK_GROUPS = {"tests/e2e/": "e2e-stack", "tests/resilience/": "resilience-stack"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With `--dist loadgroup`, a file's tests stay on one worker (its module fixtures start
    once), and so do all the tests of one shared stack."""
    if not hasattr(config, "workerinput"):
        return
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        group = next(
            (name for prefix, name in SHARED_STACK_GROUPS.items() if path.startswith(prefix)),
            path,
        )
        item.add_marker(pytest.mark.xdist_group(group))


def started_or_skipped(start, what: str):
    """The server `start()` runs; off CI, a machine that cannot run one skips the tests."""
    try:
        return start()
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no {what} could be started: {exc}")


def _runs_workers(config: pytest.Config) -> bool:
    """This process is the xdist controller of a run with worker processes."""
    return not hasattr(config, "workerinput") and bool(config.getoption("numprocesses", 0))


def pytest_configure(config: pytest.Config) -> None:
    if not _runs_workers(config):
        return
    try:
        config.stash[_kafka_key] = start_kafka()
    except Exception as exc:  # noqa: BLE001 - each worker reports it as its own start would
        config.stash[_kafka_error_key] = f"{type(exc).__name__}: {exc}"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    server = node.config.stash.get(_kafka_key, None)
    # The address and the users' credentials: the workers' clients must authenticate too.
    node.workerinput[SHARED_KAFKA] = (
        json.dumps(
            {
                "address": server.address,
                "username": server.username,
                "password": server.password,
                "admin_password": server.admin_password,
            }
        )
        if server
        else ""
    )
    node.workerinput[SHARED_KAFKA_ERROR] = node.config.stash.get(_kafka_error_key, "")


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_kafka_key, None)
    if server is not None:
        server.remove()


def _kafka_of_this_run(config: pytest.Config):
    worker_input = getattr(config, "workerinput", None)
    if worker_input is None or SHARED_KAFKA not in worker_input:
        return start_kafka()
    if worker_input[SHARED_KAFKA_ERROR]:
        raise RuntimeError(worker_input[SHARED_KAFKA_ERROR])
    return ExternalServer(**json.loads(worker_input[SHARED_KAFKA]))


@pytest.fixture(scope="session")
def kafka_server(pytestconfig):
    server = started_or_skipped(lambda: _kafka_of_this_run(pytestconfig), "Kafka broker")
    yield server
    server.remove()


@pytest.fixture(scope="session")
def redis_server():
    server = started_or_skipped(start_redis, "Redis server")
    yield server
    server.remove()


@pytest.fixture
def unique_name() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(kafka_server, redis_server, unique_name) -> Settings:
    """Settings for one test: the shared servers, topics of its own behind a unique prefix."""
    test_settings = Settings(
        **kafka_settings(kafka_server),
        redis_url=redis_server.address,
        topic_prefix=f"{unique_name}.",
        topic_partitions=3,
        consumer_backoff_seconds=0.05,
        consumer_backoff_max_seconds=0.2,
        token_encryption_key="",
    )
    ensure_topics(test_settings)
    return test_settings


@pytest.fixture
def redis_client(redis_server) -> redis.Redis:
    client = redis.Redis.from_url(redis_server.address)
    yield client
    client.close()
