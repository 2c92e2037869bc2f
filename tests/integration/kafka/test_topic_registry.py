"""The topic registry against the real broker: existing topics are repaired to its settings."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from invoicesync.events import Topic
from invoicesync.kafka.access import broker_user, provision
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import DAY_MS, ensure_topics, topic_name


def topic_settings(settings, topic: Topic) -> tuple[int, dict[str, str]]:
    """The topic's partition count and its retention, cleanup policy and min ISR."""
    name = topic_name(topic, settings)
    admin = KafkaAdminClient(**kafka_connection(settings))
    try:
        [described] = admin.describe_topics([name])
        keys = ["retention.ms", "cleanup.policy", "min.insync.replicas"]
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, keys)], config_filter="all"
        )["topic"][name]
    finally:
        admin.close()
    return len(described["partitions"]), {key: configs[key]["value"] for key in keys}


def alter(settings, topic: Topic, config: dict[str, str]) -> None:
    name = topic_name(topic, settings)
    admin = KafkaAdminClient(**kafka_connection(settings))
    try:
        result = admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, config)], incremental=True
        )
    finally:
        admin.close()
    assert result["topic"][name] == "OK"


def test_a_topic_with_a_wrong_retention_and_policy_is_set_back(settings):
    alter(settings, Topic.SYNC_RESULTS, {"retention.ms": "60000", "cleanup.policy": "compact"})
    assert topic_settings(settings, Topic.SYNC_RESULTS)[1]["retention.ms"] == "60000"

    assert ensure_topics(settings) == []  # nothing created: everything exists

    assert topic_settings(settings, Topic.SYNC_RESULTS) == (
        3,
        {"retention.ms": str(30 * DAY_MS), "cleanup.policy": "delete", "min.insync.replicas": "1"},
    )


def test_topics_with_too_few_partitions_grow_and_one_with_its_own_count_keeps_it(settings):
    more = replace(settings, topic_partitions=4)
    ensure_topics(more)
    assert topic_settings(settings, Topic.CANONICAL_EVENTS)[0] == 4
    assert topic_settings(settings, Topic.DEAD_LETTERS)[0] == 1

    ensure_topics(settings)  # a smaller count never shrinks a topic
    assert topic_settings(settings, Topic.CANONICAL_EVENTS)[0] == 4


def test_a_service_user_may_not_repair_and_starts_all_the_same(settings, kafka_server):
    if not kafka_server.admin_password:
        pytest.skip("the run's broker came without its admin password: no users can be made")
    password = secrets.token_hex(16)
    provision(settings, kafka_server.admin_password, {"invoicesync-ingest": password})
    ingest = replace(
        settings,
        kafka_username=broker_user("invoicesync-ingest", settings),
        kafka_password=password,
        topic_partitions=4,
    )
    alter(settings, Topic.SYNC_RESULTS, {"retention.ms": "60000"})

    assert ensure_topics(ingest) == []  # refused settings and partitions: logged, not raised

    partitions, config = topic_settings(settings, Topic.SYNC_RESULTS)
    assert partitions == 3 and config["retention.ms"] == "60000"
    provision(settings, kafka_server.admin_password, {"invoicesync-ingest": password})
    assert topic_settings(settings, Topic.SYNC_RESULTS)[1]["retention.ms"] == str(30 * DAY_MS)
