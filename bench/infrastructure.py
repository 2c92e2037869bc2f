"""Kafka and Redis for a benchmark run: the servers named in the environment, else our own."""

from __future__ import annotations

from contextlib import contextmanager

from tests.infrastructure import start_kafka, start_redis


@contextmanager
def running_infrastructure():
    kafka = start_kafka()
    redis = start_redis()
    try:
        yield kafka, redis.address
    finally:
        redis.remove()
        kafka.remove()
