"""Redis and Kafka take no client without credentials: whoever reaches Redis could otherwise
mint an operator key, and whoever reaches Kafka could inject canonical.events that the writers
post into any tenant's ledger."""

from __future__ import annotations

import os
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ResourcePattern,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError

from invoicesync.events import Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import topic_name
from tests.waiting import end_offsets

# Short: a refused client gives up within this; the test waits on nothing else.
REFUSED_WITHIN_MS = 3000


def with_password(url: str, password: str | None) -> str:
    parts = urlsplit(url)
    credentials = "" if password is None else f":{password}@"
    return urlunsplit(parts._replace(netloc=f"{credentials}{parts.hostname}:{parts.port}"))


def test_redis_refuses_a_client_without_the_password(redis_server):
    password = urlsplit(redis_server.address).password
    if password is None and os.environ.get("REDIS_URL"):
        pytest.skip("this run's Redis comes from REDIS_URL without a password")
    anonymous = redis.Redis.from_url(with_password(redis_server.address, None))
    wrong = redis.Redis.from_url(with_password(redis_server.address, f"x{password}"))
    known = redis.Redis.from_url(redis_server.address)
    try:
        with pytest.raises(redis.AuthenticationError):
            anonymous.set("invoicesync:operator-keys:forged", b"1")
        with pytest.raises(redis.AuthenticationError):
            wrong.ping()
        assert known.ping(), "the password in the URL is accepted"
        assert known.get("invoicesync:operator-keys:forged") is None
    finally:
        for client in (anonymous, wrong, known):
            client.close()


def unauthenticated_send(settings, *, username: str = "", password: str = "") -> object:
    """What a producer without the services' credentials gets publishing to canonical.events:
    its RecordMetadata, or the error that refused it."""
    config = kafka_connection(replace(settings, kafka_username=username, kafka_password=password))
    try:
        producer = KafkaProducer(
            **config, bootstrap_timeout_ms=REFUSED_WITHIN_MS, max_block_ms=REFUSED_WITHIN_MS
        )
    except KafkaError as exc:
        return exc
    try:
        return producer.send(
            topic_name(Topic.CANONICAL_EVENTS, settings), key=b"tenant-a", value=b"{}"
        ).get(timeout=REFUSED_WITHIN_MS / 1000)
    except KafkaError as exc:
        return exc
    finally:
        producer.close(timeout=1)


def test_kafka_refuses_a_producer_without_credentials(settings):
    if not settings.kafka_username and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("this run's broker comes from KAFKA_BOOTSTRAP_SERVERS without a user")
    events = topic_name(Topic.CANONICAL_EVENTS, settings)

    anonymous = unauthenticated_send(settings)
    wrong_password = unauthenticated_send(
        settings, username=settings.kafka_username, password=f"x{settings.kafka_password}"
    )

    assert isinstance(anonymous, KafkaError), f"published without credentials: {anonymous}"
    assert isinstance(wrong_password, KafkaError), f"published with a wrong one: {wrong_password}"
    assert not any(end_offsets(settings, [events]).values()), "nothing reached canonical.events"
    # The services' own credentials still publish there.
    producer = KafkaProducer(**kafka_connection(settings))
    try:
        producer.send(events, key=b"tenant-a", value=b"{}").get(timeout=30)
    finally:
        producer.close()
    assert sum(end_offsets(settings, [events]).values()) == 1


def test_the_services_user_cannot_make_users_or_grant_itself_more(settings):
    """A leaked service password does not give the cluster away: users and ACLs are the
    admin's alone."""
    if not settings.kafka_username and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("this run's broker comes from KAFKA_BOOTSTRAP_SERVERS without a user")
    admin = KafkaAdminClient(**kafka_connection(settings))
    try:
        made = admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion("intruder", ScramMechanism.SCRAM_SHA_512, "x" * 20)]
        )
        granted = admin.create_acls(
            [
                ACL(
                    "User:intruder",
                    "*",
                    ACLOperation.ALL,
                    ACLPermissionType.ALLOW,
                    ResourcePattern(ResourceType.CLUSTER, "kafka-cluster"),
                )
            ]
        )
    finally:
        admin.close()
    assert made.get("intruder"), f"the services' user made a user: {made}"
    assert granted["failed"] and not granted["succeeded"], f"it granted an ACL: {granted}"
