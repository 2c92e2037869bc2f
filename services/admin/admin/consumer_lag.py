"""Consumer lag per group and topic: end offsets minus committed offsets, from the broker; for
one tenant, only the partition its events land on (every topic is keyed by tenant).

One reader per admin process keeps one admin client and one consumer open and reuses a
reading for a few seconds: a tenant polling /status must not open broker connections per call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from invoicesync.errors import Transient
from invoicesync.events import Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.partitioning import partition_for_key
from invoicesync.kafka.topics import topic_name
from invoicesync.settings import Settings

Lag = dict[str, dict[str, int]]
# Lag changes slowly next to how often a dashboard asks: every caller within this many seconds
# shares one reading.
READING_TTL_SECONDS = 5.0


def tenant_partition(tenant_id: str, partition_count: int) -> int:
    """The partition a tenant's events go to: the producer's default partitioner (murmur2 of
    the key, as the Java client does) over the topic's partitions."""
    return partition_for_key(tenant_id.encode(), partition_count)


@dataclass(frozen=True)
class LagReading:
    """Messages not yet committed, per group and partition, and each topic's partition count."""

    by_group: dict[str, dict[TopicPartition, int]]
    partition_counts: dict[str, int]
    topic_of: dict[str, str]  # our topic name → its registry value

    def summed(self, tenant_id: str | None = None) -> Lag:
        lag: Lag = {}
        for group_id, partitions in sorted(self.by_group.items()):
            per_topic: dict[str, int] = {}
            for tp, waiting in partitions.items():
                count = self.partition_counts.get(tp.topic, 0)
                if tenant_id is not None and (
                    not count or tp.partition != tenant_partition(tenant_id, count)
                ):
                    continue
                topic = self.topic_of[tp.topic]
                per_topic[topic] = per_topic.get(topic, 0) + waiting
            lag[group_id] = per_topic
        return lag


class ConsumerLagReader:
    def __init__(
        self,
        settings: Settings,
        *,
        ttl_seconds: float = READING_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._admin: KafkaAdminClient | None = None
        self._consumer: KafkaConsumer | None = None
        self._reading: tuple[float, LagReading] | None = None

    def lag(self, tenant_id: str | None = None) -> Lag:
        """{group: {topic: messages not yet committed}} for every group reading our topics;
        with `tenant_id`, only what waits in that tenant's partition (its own and what is
        ahead of it)."""
        with self._lock:
            now = self._clock()
            if self._reading is None or now - self._reading[0] >= self._ttl:
                try:
                    self._reading = (now, self._read())
                # kafka-python raises KeyError from end_offsets when the broker's answer
                # leaves out a partition (its leader moving, its topic just made).
                except (KafkaError, KeyError) as exc:
                    self._close_clients()  # a broken connection is opened afresh next time
                    raise Transient(f"reading consumer offsets failed: {exc}") from exc
            return self._reading[1].summed(tenant_id)

    def close(self) -> None:
        with self._lock:
            self._close_clients()

    def _read(self) -> LagReading:
        ours = {topic_name(topic, self._settings): topic.value for topic in Topic}
        admin = self._admin_client()
        group_ids = [group["group_id"] for group in admin.list_groups()]
        committed_by_group = {}
        if group_ids:
            for group_id, offsets in admin.list_group_offsets(dict.fromkeys(group_ids)).items():
                mine = {tp: meta.offset for tp, meta in offsets.items() if tp.topic in ours}
                if mine:  # shown by the service's own name, without the deployment prefix
                    prefix = self._settings.topic_prefix
                    committed_by_group[group_id.removeprefix(prefix)] = mine
        if not committed_by_group:
            return LagReading({}, {}, ours)
        partitions = {tp for committed in committed_by_group.values() for tp in committed}
        consumer = self._end_offsets_consumer()
        ends = consumer.end_offsets(list(partitions))
        counts = {
            topic: len(consumer.partitions_for_topic(topic) or ())
            for topic in {tp.topic for tp in partitions}
        }
        by_group = {
            group_id: {tp: max(0, ends.get(tp, 0) - offset) for tp, offset in committed.items()}
            for group_id, committed in committed_by_group.items()
        }
        return LagReading(by_group, counts, ours)

    def _admin_client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(
                **kafka_connection(self._settings),
                client_id="invoicesync-status",
                request_timeout_ms=5_000,
            )
        return self._admin

    def _end_offsets_consumer(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **kafka_connection(self._settings),
                enable_auto_commit=False,
            )
        return self._consumer

    def _close_clients(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                with suppress(Exception):  # closing a broken client is best effort
                    client.close()
        self._admin = self._consumer = None
        self._reading = None
