"""Which partition a keyed message goes to: Kafka's default partitioning (murmur2 of the key, as
the Java client does), with each key's hash remembered. kafka-python hashes in pure Python, and a
deployment's keys are its few thousand tenant ids."""

from __future__ import annotations

import functools

from kafka.partitioner.default import DefaultPartitioner, murmur2


@functools.lru_cache(maxsize=65536)
def key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def partition_for_key(key: bytes, partition_count: int) -> int:
    """The partition the producer sends a message keyed `key` to."""
    return key_hash(key) % partition_count


class TenantKeyPartitioner(DefaultPartitioner):
    """The producer's partitioner: the default one's choices, from remembered hashes."""

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        if serialized_key is None:
            return super().partition(topic, key, serialized_key, value, serialized_value, cluster)
        partitions = cluster.partitions_for_topic(topic)
        if partitions is None:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        ordered = sorted(partitions)
        return ordered[partition_for_key(serialized_key, len(ordered))]
