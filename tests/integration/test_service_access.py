"""Each service reaches Kafka as its own user, allowed only its own topics and groups, on the
run's real broker: a leaked ingest password (the service facing the internet) cannot inject
canonical.events, which the writers post into ledgers, nor read what other services read."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from invoicesync.events import Topic
from invoicesync.kafka.access import broker_user, provision
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import ensure_topics, group_name, topic_name
from invoicesync.settings import Settings
from tests.waiting import DEADLINE_SECONDS, end_offsets, eventually

INGEST, TRANSFORM, NOTIFICATIONS = (
    "invoicesync-ingest",
    "invoicesync-transform",
    "invoicesync-notifications",
)


@pytest.fixture
def provisioned(settings, kafka_server) -> dict[str, Settings]:
    """Settings acting as each service's own user, made for this test's deployment prefix."""
    if not kafka_server.admin_password:
        pytest.skip("the run's broker came without its admin password: no users can be made")
    passwords = {user: secrets.token_hex(16) for user in (INGEST, TRANSFORM, NOTIFICATIONS)}
    provision(settings, kafka_server.admin_password, passwords)
    return {
        user: replace(settings, kafka_username=broker_user(user, settings), kafka_password=password)
        for user, password in passwords.items()
    }


def send(settings: Settings, topic: Topic) -> object:
    """The RecordMetadata of one publish as `settings`' user, or the error that refused it."""
    producer = KafkaProducer(**kafka_connection(settings), max_block_ms=10_000)
    try:
        return producer.send(topic_name(topic, settings), key=b"tenant-a", value=b"{}").get(
            timeout=DEADLINE_SECONDS
        )
    except KafkaError as exc:
        return exc
    finally:
        producer.close(timeout=5)


def first_poll_error(settings: Settings, topic: Topic, group: str) -> KafkaError | None:
    """What consuming `topic` in `group` as `settings`' user runs into first, if anything."""
    consumer = KafkaConsumer(
        topic_name(topic, settings),
        **kafka_connection(settings),
        group_id=group_name(group, settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:

        def polled_or_refused() -> KafkaError | bool:
            try:
                consumer.poll(timeout_ms=500)
            except KafkaError as exc:
                return exc
            return bool(consumer.assignment())

        outcome = eventually(polled_or_refused, f"a poll of {topic} in {group} to settle")
        return outcome if isinstance(outcome, KafkaError) else None
    finally:
        consumer.close()


def test_the_ingest_user_publishes_notices_but_cannot_inject_canonical_events(provisioned):
    ingest, transform = provisioned[INGEST], provisioned[TRANSFORM]
    canonical = topic_name(Topic.CANONICAL_EVENTS, ingest)

    injected = send(ingest, Topic.CANONICAL_EVENTS)
    notice = send(ingest, Topic.KEAP_NOTIFICATIONS)

    assert isinstance(injected, TopicAuthorizationFailedError), injected
    assert not isinstance(notice, KafkaError), f"ingest's own topic refused it: {notice}"
    assert not any(end_offsets(ingest, [canonical]).values()), "nothing reached canonical.events"
    # The one service meant to write there still can.
    assert not isinstance(send(transform, Topic.CANONICAL_EVENTS), KafkaError)


def test_a_service_reads_only_its_own_topics_in_its_own_group(provisioned):
    notifications, transform = provisioned[NOTIFICATIONS], provisioned[TRANSFORM]

    other_topic = first_poll_error(
        notifications, Topic.CANONICAL_EVENTS, "invoicesync-notifications"
    )
    other_group = first_poll_error(notifications, Topic.SYNC_RESULTS, "invoicesync-transform")
    own = first_poll_error(transform, Topic.KEAP_NOTIFICATIONS, "invoicesync-transform")

    assert isinstance(other_topic, TopicAuthorizationFailedError), other_topic
    assert isinstance(other_group, GroupAuthorizationFailedError), other_group
    assert own is None, f"transform could not read its own topic: {own}"


def test_a_deployments_users_cannot_reach_another_deployment_on_the_same_broker(
    provisioned, kafka_server
):
    """Users, like topics and groups, carry the deployment's prefix: one deployment's ingest
    password does not open another's topics."""
    other = replace(provisioned[TRANSFORM], topic_prefix=f"other{uuid.uuid4().hex[:8]}.")
    admin_side = replace(
        other, kafka_username=kafka_server.username, kafka_password=kafka_server.password
    )
    ensure_topics(admin_side)

    crossed = send(other, Topic.CANONICAL_EVENTS)

    assert isinstance(crossed, TopicAuthorizationFailedError), crossed
