"""Kafka and Redis for a benchmark run: the servers named in the environment, else our own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from invoicesync.kafka.topics import ensure_topics
from invoicesync.settings import Settings
from tests.infrastructure import kafka_settings, start_kafka, start_redis


@contextmanager
def running_settings(**overrides) -> Iterator[Settings]:
    """Settings on freshly started servers, behind a topic prefix of the run's own, with every
    topic made."""
    with running_infrastructure() as (kafka, redis_url):
        settings = Settings(
            **kafka_settings(kafka),
            redis_url=redis_url,
            topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
            **overrides,
        )
        ensure_topics(settings)
        yield settings


@contextmanager
def running_infrastructure():
    kafka = start_kafka()
    redis = start_redis()
    try:
        yield kafka, redis.address
    finally:
        redis.remove()
        kafka.remove()
