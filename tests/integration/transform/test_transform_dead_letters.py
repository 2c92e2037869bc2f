"""Transform's dead-letter policy against the real broker and a Redis of its own that goes away:
a poison notification is dead-lettered and reported failed, and an outage is waited out."""

from __future__ import annotations

import time

import pytest
import redis

from invoicesync.domain.canonical import Destination
from invoicesync.errors import InvalidInput
from invoicesync.events import (
    Envelope,
    EventType,
    SyncAction,
    Topic,
    payload_of,
)
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.failure_policies import DeadLetterPolicy, RetryPolicy
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.stores.tenants import TenantStore
from tests.integration.kafka.test_consumer_loop import committed_offsets
from tests.integration.transform.test_transform_service import TopicReader, notify
from tests.waiting import DEADLINE_SECONDS
from transform.failures import failed_notification_report

pytestmark = pytest.mark.infra


def test_a_redis_outage_while_dead_lettering_is_waited_out_and_the_failure_still_reported(
    settings, unique_name, own_redis
):
    client = redis.Redis.from_url(own_redis.address, socket_connect_timeout=1, socket_timeout=2)
    tenant_id = TenantStore(client).create("Outage", Destination.QBO).id
    deliveries: list[str] = []

    def poison(envelope: Envelope) -> list[Outgoing]:
        deliveries.append(envelope.event_id)
        raise InvalidInput("Keap's total does not add up")

    policy = DeadLetterPolicy(reports=(failed_notification_report(TenantStore(client)),))
    retry = RetryPolicy(max_attempts=2, backoff_seconds=0.05, backoff_max_seconds=0.2)
    options = LoopOptions(
        group_id=unique_name,
        topics=(Topic.KEAP_NOTIFICATIONS,),
        retry=retry,
        dead_letters=policy,
    )
    loop = ConsumerLoop(settings, options, one_at_a_time(poison), Publisher(settings))
    dead_letters = TopicReader(settings, Topic.DEAD_LETTERS)
    results = TopicReader(settings, Topic.SYNC_RESULTS)
    try:
        own_redis.stop()
        publisher = Publisher(settings)
        notify(publisher, tenant_id, "order", "4711")
        publisher.close()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(deliveries) < 3:  # given up on, then redelivered while Redis is away
            assert time.monotonic() < deadline, "the message was not redelivered in time"
            loop.poll_once()  # raises if the outage escaped the loop
        assert committed_offsets(settings, unique_name) == 0, "nothing is lost meanwhile"

        own_redis.start()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while committed_offsets(settings, unique_name) < 1:
            assert time.monotonic() < deadline, "the dead letter did not go out after Redis"
            loop.poll_once()
        [dead] = dead_letters.until(lambda seen: seen)
        [failed] = results.until(lambda seen: seen)
    finally:
        loop.close()
        dead_letters.close()
        results.close()
        client.close()

    assert dead.type is EventType.MESSAGE_DEAD_LETTERED and dead.tenant_id == tenant_id
    result = payload_of(failed)
    assert (result.action, result.destination, result.keap_id) == (
        SyncAction.FAILED,
        "qbo",
        "4711",
    )
    assert "does not add up" in result.reason


def test_a_notification_for_an_unknown_tenant_is_dead_lettered_without_an_activity_entry(
    service, unique_name
):
    keap, publisher = service
    dead_letters = TopicReader(keap.settings, Topic.DEAD_LETTERS)
    results = TopicReader(keap.settings, Topic.SYNC_RESULTS)
    try:
        notify(publisher, unique_name, "order", "1")
        [dead] = dead_letters.until(lambda seen: seen, timeout=30)
        # A report goes out in the same acknowledged batch as its dead letter: none is there.
        reported = results.until(lambda seen: True, timeout=1)
    finally:
        dead_letters.close()
        results.close()

    assert dead.tenant_id == unique_name
    assert dead.payload["error"]["type"] == "UnknownTenant"
    assert dead.payload["attempts"] == 1
    assert [e for e in reported if e.tenant_id == unique_name] == []
