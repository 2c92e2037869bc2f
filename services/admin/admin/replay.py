"""Replay: re-publish a tenant's messages of a topic from a time, and dead letters, one by one
or in bulk by tenant, consumer group and time range.

Replays are safe because every consumer is idempotent (design.md §5); a dead letter is replayed
at most once, remembered in Redis, so a second click does nothing. Keap notifications come back
with source=replay, which transform always publishes (a hook's repeat it would drop).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.dead_letters import original_message
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import topic_name
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings

log = logging.getLogger(__name__)

DLQ_PARTITION = 0  # the dead-letter topic has one partition: an offset names one letter
# A listing reads the topic backwards this many letters at a time, and at most DLQ_PAGE_SCAN of
# them per page: a page with fewer letters than asked for still carries a cursor to go on from.
DLQ_CHUNK = 5_000
DLQ_PAGE_SCAN = 50_000
_READ_TIMEOUT_MS = 1_000


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters: one tenant's, one consumer group's, dead-lettered in [since, until)."""

    tenant_id: str | None = None
    group_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, envelope: Envelope, timestamp_ms: int) -> bool:
        if self.tenant_id is not None and envelope.tenant_id != self.tenant_id:
            return False
        if self.group_id is not None and envelope.payload.get("group_id") != self.group_id:
            return False
        if self.since is not None and timestamp_ms < _ms(self.since):
            return False
        return self.until is None or timestamp_ms < _ms(self.until)


@dataclass(frozen=True)
class DeadLetterPage:
    letters: list[DeadLetter]
    next_before: int | None  # pass as `before` for the next (older) page; None: no more


@dataclass(frozen=True)
class BulkReplay:
    matched: int
    replayed: int
    already_replayed: int

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


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
    """The newest dead letters first, optionally one tenant's only (the first page)."""
    return dead_letter_page(
        settings, DeadLetterFilter(tenant_id=tenant_id), limit, redis_client=redis_client
    ).letters


def dead_letter_page(
    settings: Settings,
    which: DeadLetterFilter,
    limit: int = 100,
    *,
    before: int | None = None,
    redis_client: redis.Redis | None = None,
) -> DeadLetterPage:
    """Up to `limit` matching dead letters, newest first, from below offset `before` (the
    previous page's `next_before`) down to the start of the range, however long the topic."""
    client = redis_client or redis_from_settings(settings)
    name = topic_name(Topic.DEAD_LETTERS, settings)
    found: list[tuple[int, Envelope]] = []
    with _dlq_reader(settings, name) as reader:
        low, high = reader.bounds(which)
        if before is not None:
            high = min(high, max(before, low))
        scanned = 0
        while high > low and len(found) < limit and scanned < DLQ_PAGE_SCAN:
            start = max(low, high - DLQ_CHUNK)
            chunk = [
                (offset, envelope)
                for offset, timestamp_ms, envelope in reader.letters(start, high)
                if which.matches(envelope, timestamp_ms)
            ]
            found.extend(reversed(chunk))
            scanned += high - start
            high = start
    page = found[:limit]
    more = len(found) > limit or high > low
    next_before = (page[-1][0] if len(found) > limit else high) if more else None
    letters = [_dead_letter(offset, envelope, client, settings) for offset, envelope in page]
    return DeadLetterPage(letters, next_before)


def replay_dead_letters(
    settings: Settings,
    which: DeadLetterFilter,
    *,
    redis_client: redis.Redis | None = None,
    publisher: Publisher | None = None,
) -> BulkReplay:
    """Replay every matching dead letter not replayed before, oldest first, over the whole
    range (no cap on how many)."""
    client = redis_client or redis_from_settings(settings)
    name = topic_name(Topic.DEAD_LETTERS, settings)
    own_publisher = publisher is None
    publisher = publisher or Publisher(settings)
    matched = replayed = 0
    try:
        with _dlq_reader(settings, name) as reader:
            low, high = reader.bounds(which)
            for start in range(low, high, DLQ_CHUNK):
                end = min(high, start + DLQ_CHUNK)
                for offset, timestamp_ms, envelope in reader.letters(start, end):
                    if not which.matches(envelope, timestamp_ms):
                        continue
                    matched += 1
                    if _replay_letter(settings, offset, envelope, client, publisher):
                        replayed += 1
    finally:
        if own_publisher:
            publisher.close()
    log.info(
        "dead letters replayed",
        extra={
            "tenant_id": which.tenant_id,
            "group_id": which.group_id,
            "matched": matched,
            "replayed": replayed,
        },
    )
    return BulkReplay(matched, replayed, matched - replayed)


def replay_dead_letter(
    settings: Settings,
    dlq_offset: int,
    *,
    redis_client: redis.Redis | None = None,
    publisher: Publisher | None = None,
) -> bool:
    """Re-publish a dead letter's original message to its original topic. False if it was
    replayed before. InvalidInput if there is no dead letter at that offset."""
    client = redis_client or redis_from_settings(settings)
    name = topic_name(Topic.DEAD_LETTERS, settings)
    record = _record_at(settings, name, dlq_offset)
    if record is None:
        raise InvalidInput(f"no dead letter at offset {dlq_offset}", field="offset")
    envelope = envelope_from_bytes(record.value)
    own_publisher = publisher is None
    publisher = publisher or Publisher(settings)
    try:
        return _replay_letter(settings, dlq_offset, envelope, client, publisher)
    finally:
        if own_publisher:
            publisher.close()


def _replay_letter(
    settings: Settings,
    dlq_offset: int,
    envelope: Envelope,
    client: redis.Redis,
    publisher: Publisher,
) -> bool:
    marker = _replayed_key(settings, dlq_offset)
    # Claim first so two clicks at once cannot both publish; released if the publish fails.
    if not client.set(marker, "claimed", nx=True):
        return False
    original_topic, key, value = original_message(envelope.payload)
    if original_topic == topic_name(Topic.KEAP_NOTIFICATIONS, settings) and value:
        value = _replayed_notification_bytes(value)
    try:
        publisher.publish_raw(original_topic, key, value or b"")
    except Transient:
        client.delete(marker)
        raise
    client.set(marker, "replayed")
    log.info(
        "dead letter replayed",
        extra={"offset": dlq_offset, "tenant_id": envelope.tenant_id, "topic": original_topic},
    )
    return True


def _replayed_notification_bytes(raw: bytes) -> bytes:
    """A dead-lettered Keap notification comes back as a replay, under its own event id;
    unreadable bytes as they were (the consumer dead-letters them again, with the reason)."""
    try:
        envelope = envelope_from_bytes(raw)
    except InvalidInput:
        return raw
    replayed = _as_replayed_notification(raw)
    return replace(
        replayed, event_id=envelope.event_id, occurred_at=envelope.occurred_at
    ).to_bytes()


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
            **kafka_connection(settings),
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


class _DeadLetterReader:
    """The dead-letter topic's one partition, read by offset ranges."""

    def __init__(self, consumer: KafkaConsumer, name: str) -> None:
        self._consumer = consumer
        self._tp = TopicPartition(name, DLQ_PARTITION)
        _partitions(consumer, name)
        consumer.assign([self._tp])

    def bounds(self, which: DeadLetterFilter) -> tuple[int, int]:
        """[first, end) offsets that can hold letters of the filter's time range."""
        tp = self._tp
        low = self._consumer.beginning_offsets([tp])[tp]
        high = self._consumer.end_offsets([tp])[tp]
        if which.since is not None:
            low = max(low, self._offset_at(which.since, high))
        if which.until is not None:
            high = min(high, self._offset_at(which.until, high))
        return low, max(low, high)

    def letters(self, start: int, end: int) -> Iterator[tuple[int, int, Envelope]]:
        """(offset, timestamp in ms, envelope) of the readable letters in [start, end), oldest
        first."""
        self._consumer.seek(self._tp, start)
        for record in _read_until(self._consumer, {self._tp: end}):
            if record.offset < start:
                continue
            try:
                envelope = envelope_from_bytes(record.value)
            except InvalidInput:
                continue
            yield record.offset, record.timestamp, envelope

    def _offset_at(self, moment: datetime, end: int) -> int:
        found = self._consumer.offsets_for_times({self._tp: max(0, _ms(moment))})[self._tp]
        return found.offset if found is not None else end


@contextmanager
def _dlq_reader(settings: Settings, name: str) -> Iterator[_DeadLetterReader]:
    consumer = _consumer(settings)
    try:
        yield _DeadLetterReader(consumer, name)
    except KafkaError as exc:
        raise Transient(f"reading {name} failed: {exc}") from exc
    finally:
        consumer.close()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


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
