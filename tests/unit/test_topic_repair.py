"""The topic registry's repair decision: what to change on an existing topic, from how the
broker describes it."""

from __future__ import annotations

from invoicesync.events import Topic
from invoicesync.kafka.topics import (
    DAY_MS,
    TOPIC_SPECS,
    DescribedTopic,
    TopicSpec,
    min_insync_replicas,
    repair_for,
    replication_factor_for,
)

NOTICES = TopicSpec(Topic.KEAP_NOTIFICATIONS, retention_ms=7 * DAY_MS)


def described(partitions=6, replicas=3, **config) -> DescribedTopic:
    values = {"retention.ms": str(7 * DAY_MS), "cleanup.policy": "delete"}
    values["min.insync.replicas"] = "2" if replicas >= 3 else "1"
    values.update({key.replace("_", "."): value for key, value in config.items()})
    return DescribedTopic("p.keap.notifications", partitions, replicas, values)


def test_a_topic_as_the_registry_wants_it_needs_nothing():
    repair = repair_for(NOTICES, described(), partitions=6, brokers=3)
    assert not repair.changes_anything and repair.warnings == ()


def test_a_wrong_retention_and_cleanup_policy_are_set_back():
    topic = described(retention_ms="3600000", cleanup_policy="compact")
    repair = repair_for(NOTICES, topic, partitions=6, brokers=3)
    assert repair.config == {"retention.ms": str(7 * DAY_MS), "cleanup.policy": "delete"}
    assert repair.partitions is None


def test_three_replicas_get_min_insync_replicas_two():
    repair = repair_for(NOTICES, described(min_insync_replicas="1"), partitions=6, brokers=3)
    assert repair.config == {"min.insync.replicas": "2"}


def test_too_few_partitions_grow_to_the_registry_count_and_more_are_left_alone():
    assert repair_for(NOTICES, described(partitions=3), partitions=6, brokers=3).partitions == 6
    assert repair_for(NOTICES, described(partitions=9), partitions=6, brokers=3).partitions is None


def test_a_topic_with_its_own_partition_count_is_held_to_it():
    dead_letters = next(spec for spec in TOPIC_SPECS if spec.topic is Topic.DEAD_LETTERS)
    topic = DescribedTopic(
        "p.dead.letters", 1, 3, dead_letters.config_for(3) | {"retention.ms": "1"}
    )
    repair = repair_for(dead_letters, topic, partitions=dead_letters.partitions or 6, brokers=3)
    assert repair.partitions is None and repair.config == {"retention.ms": str(90 * DAY_MS)}


def test_one_replica_on_a_cluster_is_reported_and_kept_writable():
    # min.insync.replicas 2 on a single replica would refuse every acks=all write.
    topic = described(replicas=1)
    repair = repair_for(NOTICES, topic, partitions=6, brokers=3)
    assert repair.config == {}
    [warning] = repair.warnings
    assert "1 replica(s)" in warning and "wants 3" in warning


def test_a_single_broker_wants_one_replica_and_no_min_insync_replicas_above_one():
    assert replication_factor_for(1) == 1 and min_insync_replicas(1) == 1
    assert replication_factor_for(3) == 3 and min_insync_replicas(3) == 2
    topic = described(replicas=1, min_insync_replicas="2")
    repair = repair_for(NOTICES, topic, partitions=6, brokers=1)
    assert repair.config == {"min.insync.replicas": "1"} and repair.warnings == ()


def test_unseen_settings_count_as_wrong_in_the_pure_decision():
    topic = DescribedTopic("p.keap.notifications", 6, 1, {})
    repair = repair_for(NOTICES, topic, partitions=6, brokers=1)
    assert repair.config == NOTICES.config_for(1)
