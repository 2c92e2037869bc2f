"""Read back what a test published: every event on one of our topics, from the start."""

from __future__ import annotations

import json
import time

from kafka import KafkaConsumer

from invoicesync.events import Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import topic_name
from tests.waiting import DEADLINE_SECONDS


def read_topic(
    settings,
    topic: Topic,
    expected: int = 0,
    *,
    tenant_id: str | None = None,
    timeout: float = DEADLINE_SECONDS,
) -> list[dict]:
    """The topic's events as JSON (only `tenant_id`'s, if given), once at least `expected` are
    there and the topic has gone quiet, so a surplus (a duplicate) is read too; whatever is
    there once `timeout` has passed."""
    consumer = KafkaConsumer(
        topic_name(topic, settings),
        **kafka_connection(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = [json.loads(record.value) for record in consumer]
            found += [event for event in batch if tenant_id in (None, event["tenant_id"])]
            if len(found) >= expected and not batch:
                break
    finally:
        consumer.close()
    return found
