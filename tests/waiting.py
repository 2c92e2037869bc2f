"""Waiting on observable progress: the one way tests wait for work done by another thread or
process. Deadlines are generous (a busy machine is slow, not wrong); a passing test returns as
soon as its condition holds, so only a failing one ever waits the whole deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from invoicesync.kafka.connection import kafka_connection
from invoicesync.settings import Settings

T = TypeVar("T")

# Real work (brokers, sandboxes, processes) on two busy cores: minutes, not seconds.
DEADLINE_SECONDS = 240.0


def wait_for(
    condition: Callable[[], T], timeout: float = DEADLINE_SECONDS, step: float = 0.1
) -> T | None:
    """The condition's first truthy value, or its last value once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def eventually(
    condition: Callable[[], T], what: str, timeout: float = DEADLINE_SECONDS, step: float = 0.1
) -> T:
    """The condition's first truthy value; fails the test naming `what` if none came in time."""
    value = wait_for(condition, timeout, step)
    if not value:
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
    return value


def end_offsets(settings: Settings, topics: Iterable[str]) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(**kafka_connection(settings))
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            # The first metadata request may still be in flight: empty is not "no partitions".
            for partition in eventually(
                lambda topic=topic: consumer.partitions_for_topic(topic), f"metadata of {topic}"
            )
        ]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def committed_offsets(settings: Settings, group_id: str) -> dict[TopicPartition, int]:
    admin = KafkaAdminClient(**kafka_connection(settings))
    try:
        committed = admin.list_group_offsets({group_id: None}).get(group_id, {})
    except KafkaError as exc:
        if not exc.retriable:
            raise
        return {}  # a broker's first group: its offsets topic is still being made or loaded
    finally:
        admin.close()
    return {partition: meta.offset for partition, meta in committed.items()}


def finished_with_everything_published(
    settings: Settings, group_id: str, topics: Iterable[str]
) -> None:
    """Wait until the group has committed every message in `topics` now. Commits come after
    effects, so the group is then done with all of it: the positive signal a test asserting
    that something did *not* happen (no duplicate) waits on instead of a sleep."""
    topic_names = list(topics)
    ends = {tp: end for tp, end in end_offsets(settings, topic_names).items() if end}
    assert ends, f"nothing was published to {topic_names}"

    def caught_up() -> bool:
        committed = committed_offsets(settings, group_id)
        return all(committed.get(tp, -1) >= end for tp, end in ends.items())

    eventually(caught_up, f"group {group_id} to commit to the end of {topic_names}", step=0.25)
