"""The producer's partitioner chooses as Kafka's default one does, hashes remembered or not."""

from __future__ import annotations

from kafka.partitioner.default import DefaultPartitioner

from invoicesync.kafka.partitioning import TenantKeyPartitioner, partition_for_key


class _Cluster:
    def __init__(self, partitions: int) -> None:
        self._partitions = set(range(partitions))

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions


def test_every_key_goes_where_kafkas_default_partitioner_sends_it() -> None:
    ours, kafkas = TenantKeyPartitioner(), DefaultPartitioner()
    for partitions in (1, 3, 6, 12):
        cluster = _Cluster(partitions)
        for number in range(500):
            key = f"tenant-{number:04x}".encode()
            expected = kafkas.partition("t", None, key, None, None, cluster)
            assert ours.partition("t", None, key, None, None, cluster) == expected
            assert ours.partition("t", None, key, None, None, cluster) == expected  # remembered
            assert partition_for_key(key, partitions) == expected
