"""Session-wide real infrastructure: one Kafka broker and one Redis server per test run."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from invoicesync.kafka.topics import ensure_topics
from invoicesync.settings import Settings
from tests.infrastructure import start_kafka, start_redis


def started_or_skipped(start, what: str):
    """The server `start()` runs; off CI, a machine that cannot run one skips the tests."""
    try:
        return start()
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no {what} could be started: {exc}")


@pytest.fixture(scope="session")
def kafka_server():
    server = started_or_skipped(start_kafka, "Kafka broker")
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
        kafka_bootstrap_servers=kafka_server.address,
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
