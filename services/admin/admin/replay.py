"""Replay: re-publish a tenant's messages of a topic from a time, and dead letters one by one.

Replays are safe because every consumer is idempotent (design.md §5); a dead letter is replayed
at most once, remembered in Redis, so a second click does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from invoicesync.errors import InvalidInput, Transient
from invoicesync.events import (
    Envelope,
    EventType,
    NotificationSource,
    Topic,
    envelope_from_bytes,
)
from invoicesync.kafka.dead_letters import original_message
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import topic_name
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings

log = logging.getLogger(__name__)

DLQ_PARTITION = 0  # the dead-letter topic has one partition: an offset names one letter
DLQ_SCAN = 5_000
_READ_TIMEOUT_MS = 1_000


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    tenant_id: str
    original_topic: str
    original_partition: int
    original_offset: int
    error_type: str
    error_message: str
    attempts: int
    group_id: str
    failed_at: str
    replayed: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def replay_topic(
    settings: Settings,
    topic: Topic,
    tenant_id: str,
    from_time: datetime,
    *,
    publisher: Publisher | None = None,
) -> int:
    """Re-publish the tenant's messages of `topic` written since `from_time`, up to the end as
    it stands now. Keap notifications come back with source=replay; anything else as it was."""
    if topic is Topic.DEAD_LETTERS:
        raise InvalidInput("dead letters are replayed one by one", field="topic")
    own_publisher = publisher is None
    publisher = publisher or Publisher(settings)
    replayed = 0
    try:
        for record in _records_since(settings, topic_name(topic, settings), from_time):
            if record.key != tenant_id.encode():
                continue
            if topic is Topic.KEAP_NOTIFICATIONS:
                publisher.publish(topic, _as_replayed_notification(record.value))
            else:
                publisher.publish_raw(record.topic, record.key, record.value, record.headers)
            replayed += 1
    finally:
        if own_publisher:
            publisher.close()
    log.info(
        "topic replayed",
        extra={"topic": topic.value, "tenant_id": tenant_id, "messages": replayed},
    )
    return replayed


def list_dead_letters(
    settings: Settings,
    limit: int = 100,
    tenant_id: str | None = None,
    *,
    redis_client: redis.Redis | None = None,
) -> list[DeadLetter]:
    """The newest dead letters first (of the last DLQ_SCAN), optionally one tenant's only."""
    client = redis_client or redis_from_settings(settings)
    name = topic_name(Topic.DEAD_LETTERS, settings)
    letters: list[DeadLetter] = []
    for record in _records_from_end(settings, name, DLQ_SCAN):
        try:
            envelope = envelope_from_bytes(record.value)
        except InvalidInput:
            continue
        if tenant_id is not None and envelope.tenant_id != tenant_id:
            continue
        letters.append(_dead_letter(record.offset, envelope, client, settings))
    letters.reverse()
    return letters[:limit]


def replay_dead_letter(
    settings: Settings,
    dlq_offset: int,
    *,
    redis_client: redis.Redis | None = None,
    publisher: Publisher | None = None,
) -> bool:
    """Re-publish a dead letter's original bytes to its original topic. False if it was
    replayed before. InvalidInput if there is no dead letter at that offset."""
    client = redis_client or redis_from_settings(settings)
    name = topic_name(Topic.DEAD_LETTERS, settings)
    record = _record_at(settings, name, dlq_offset)
    if record is None:
        raise InvalidInput(f"no dead letter at offset {dlq_offset}", field="offset")
    envelope = envelope_from_bytes(record.value)
    marker = _replayed_key(settings, dlq_offset)
    # Claim first so two clicks at once cannot both publish; released if the publish fails.
    if not client.set(marker, "claimed", nx=True):
        return False
    original_topic, key, value = original_message(envelope.payload)
    own_publisher = publisher is None
    publisher = publisher or Publisher(settings)
    try:
        publisher.publish_raw(original_topic, key, value or b"")
    except Transient:
        client.delete(marker)
        raise
    finally:
        if own_publisher:
            publisher.close()
    client.set(marker, "replayed")
    log.info(
        "dead letter replayed",
        extra={"offset": dlq_offset, "tenant_id": envelope.tenant_id, "topic": original_topic},
    )
    return True


def _replayed_key(settings: Settings, dlq_offset: int) -> str:
    return f"invoicesync:dlq:replayed:{topic_name(Topic.DEAD_LETTERS, settings)}:{dlq_offset}"


def _as_replayed_notification(raw: bytes) -> Envelope:
    envelope = envelope_from_bytes(raw)
    if envelope.type is not EventType.KEAP_CHANGE_NOTIFIED:
        return envelope
    payload = {**envelope.payload, "source": NotificationSource.REPLAY.value}
    return Envelope(type=envelope.type, tenant_id=envelope.tenant_id, payload=payload)


def _dead_letter(offset: int, envelope: Envelope, client: redis.Redis, settings) -> DeadLetter:
    payload = envelope.payload
    original = payload.get("original", {})
    error = payload.get("error", {})
    return DeadLetter(
        offset=offset,
        tenant_id=envelope.tenant_id,
        original_topic=str(original.get("topic", "")),
        original_partition=int(original.get("partition", -1)),
        original_offset=int(original.get("offset", -1)),
        error_type=str(error.get("type", "")),
        error_message=str(error.get("message", "")),
        attempts=int(payload.get("attempts", 0)),
        group_id=str(payload.get("group_id", "")),
        failed_at=str(payload.get("failed_at", "")),
        replayed=client.exists(_replayed_key(settings, offset)) == 1,
    )


def _consumer(settings: Settings) -> KafkaConsumer:
    try:
        return KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            group_id=None,
            consumer_timeout_ms=_READ_TIMEOUT_MS,
            request_timeout_ms=15_000,
        )
    except KafkaError as exc:
        raise Transient(f"Kafka unreachable: {exc}") from exc


def _partitions(consumer: KafkaConsumer, name: str) -> list[TopicPartition]:
    numbers = consumer.partitions_for_topic(name)
    if not numbers:
        raise InvalidInput(f"topic {name} does not exist", field="topic")
    return [TopicPartition(name, number) for number in sorted(numbers)]


def _read_until(consumer: KafkaConsumer, ends: dict[TopicPartition, int]):
    """Records from the current positions up to the end offsets taken at the start."""
    remaining = {tp for tp, end in ends.items() if consumer.position(tp) < end}
    while remaining:
        batches = consumer.poll(timeout_ms=_READ_TIMEOUT_MS, max_records=500)
        if not batches:
            remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
            continue
        for tp, records in batches.items():
            for record in records:
                if record.offset < ends[tp]:
                    yield record
            if consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)


def _records_since(settings: Settings, name: str, from_time: datetime):
    consumer = _consumer(settings)
    try:
        partitions = _partitions(consumer, name)
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        since_ms = max(0, int(from_time.timestamp() * 1000))  # before 1970: the beginning
        starts = consumer.offsets_for_times(dict.fromkeys(partitions, since_ms))
        for tp in partitions:
            found = starts.get(tp)
            consumer.seek(tp, found.offset if found is not None else ends[tp])
        yield from _read_until(consumer, ends)
    except KafkaError as exc:
        raise Transient(f"reading {name} failed: {exc}") from exc
    finally:
        consumer.close()


def _records_from_end(settings: Settings, name: str, count: int):
    consumer = _consumer(settings)
    try:
        partitions = _partitions(consumer, name)
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        beginnings = consumer.beginning_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, max(beginnings[tp], ends[tp] - count))
        yield from _read_until(consumer, ends)
    except KafkaError as exc:
        raise Transient(f"reading {name} failed: {exc}") from exc
    finally:
        consumer.close()


def _record_at(settings: Settings, name: str, offset: int):
    consumer = _consumer(settings)
    try:
        tp = TopicPartition(name, DLQ_PARTITION)
        _partitions(consumer, name)
        consumer.assign([tp])
        end = consumer.end_offsets([tp])[tp]
        begin = consumer.beginning_offsets([tp])[tp]
        if not begin <= offset < end:
            return None
        consumer.seek(tp, offset)
        for record in _read_until(consumer, {tp: offset + 1}):
            if record.offset == offset:
                return record
        return None
    except KafkaError as exc:
        raise Transient(f"reading {name} failed: {exc}") from exc
    finally:
        consumer.close()
