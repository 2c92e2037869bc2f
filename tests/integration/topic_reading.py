"""Read back what a test published: every event on one of our topics, from the start."""

from __future__ import annotations

import json
import time

from kafka import KafkaConsumer

from invoicesync.events import Topic
from invoicesync.kafka.topics import topic_name


def read_topic(settings, topic: Topic, expected: int, timeout: float = 20.0) -> list[dict]:
    """The topic's events as JSON, once `expected` of them are there or `timeout` has passed."""
    consumer = KafkaConsumer(
        topic_name(topic, settings),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expected and time.monotonic() < deadline:
            found.extend(json.loads(record.value) for record in consumer)
    finally:
        consumer.close()
    return found
