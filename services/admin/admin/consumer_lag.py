"""Consumer lag per group and topic: end offsets minus committed offsets, from the broker."""

from __future__ import annotations

from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from invoicesync.errors import Transient
from invoicesync.events import Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import topic_name
from invoicesync.settings import Settings


def consumer_lag(settings: Settings) -> dict[str, dict[str, int]]:
    """{group: {topic: messages not yet committed}} for every group reading our topics."""
    ours = {topic_name(topic, settings): topic.value for topic in Topic}
    try:
        admin = KafkaAdminClient(
            **kafka_connection(settings),
            client_id="invoicesync-status",
            request_timeout_ms=5_000,
        )
    except KafkaError as exc:
        raise Transient(f"Kafka unreachable: {exc}") from exc
    consumer = None
    try:
        group_ids = [group["group_id"] for group in admin.list_groups()]
        committed_by_group = {}
        if group_ids:
            for group_id, offsets in admin.list_group_offsets(dict.fromkeys(group_ids)).items():
                mine = {tp: meta.offset for tp, meta in offsets.items() if tp.topic in ours}
                if mine:
                    committed_by_group[group_id] = mine
        if not committed_by_group:
            return {}
        consumer = KafkaConsumer(**kafka_connection(settings), enable_auto_commit=False)
        partitions = {tp for committed in committed_by_group.values() for tp in committed}
        ends = consumer.end_offsets(list(partitions))
        lag: dict[str, dict[str, int]] = {}
        for group_id, committed in sorted(committed_by_group.items()):
            per_topic: dict[str, int] = {}
            for tp, offset in committed.items():
                topic = ours[tp.topic]
                per_topic[topic] = per_topic.get(topic, 0) + max(0, ends.get(tp, 0) - offset)
            lag[group_id] = per_topic
        return lag
    except KafkaError as exc:
        raise Transient(f"reading consumer offsets failed: {exc}") from exc
    finally:
        admin.close()
        if consumer is not None:
            consumer.close()
