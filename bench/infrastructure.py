"""Kafka and Redis for a benchmark run: the servers named in the environment, else our own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from invoicesync.crypto import generate_key
from invoicesync.kafka.topics import ensure_topics
from invoicesync.settings import Settings
from invoicesync_sandbox.xero.app import create_app
from tests.infrastructure import kafka_settings, start_kafka, start_redis
from tests.integration.stores.local_servers import pointed_at_xero, serving


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
def running_with_xero() -> Iterator[tuple[Settings, str]]:
    """`running_settings` (with a token key of the run's own) pointed at a Xero stand-in
    served in this process, and that stand-in's URL."""
    with (
        running_settings(token_encryption_key=generate_key()) as settings,
        serving(create_app()) as url,
    ):
        yield pointed_at_xero(settings, url), url


@contextmanager
def running_infrastructure():
    kafka = start_kafka()
    redis = start_redis()
    try:
        yield kafka, redis.address
    finally:
        redis.remove()
        kafka.remove()
