"""Consumer lag per group and topic: end offsets minus committed offsets, from the broker;
for one tenant, only the partition its events land on (every topic is keyed by tenant)."""

from __future__ import annotations

from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from invoicesync.errors import Transient
from invoicesync.events import Topic
from invoicesync.kafka.topics import topic_name
from invoicesync.settings import Settings


def tenant_partition(tenant_id: str, partition_count: int) -> int:
    """The partition a tenant's events go to: the producer's default partitioner (murmur2 of
    the key, as the Java client does) over the topic's partitions."""
    return (murmur2(tenant_id.encode()) & 0x7FFFFFFF) % partition_count


def consumer_lag(settings: Settings, tenant_id: str | None = None) -> dict[str, dict[str, int]]:
    """{group: {topic: messages not yet committed}} for every group reading our topics; with
    `tenant_id`, only what waits in that tenant's partition (ahead of and including its own)."""
    ours = {topic_name(topic, settings): topic.value for topic in Topic}
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap_servers,
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
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
        )
        partitions = {tp for committed in committed_by_group.values() for tp in committed}
        if tenant_id is not None:
            partitions = _tenant_partitions(consumer, partitions, tenant_id)
            committed_by_group = {
                group: {tp: o for tp, o in committed.items() if tp in partitions}
                for group, committed in committed_by_group.items()
            }
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


def _tenant_partitions(consumer: KafkaConsumer, partitions: set, tenant_id: str) -> set:
    counts = {tp.topic: len(consumer.partitions_for_topic(tp.topic) or ()) for tp in partitions}
    return {
        tp
        for tp in partitions
        if counts[tp.topic] and tp.partition == tenant_partition(tenant_id, counts[tp.topic])
    }
