"""The id map: Keap id → destination id, content hash and status, in Redis and in a ledger.

Redis can be lost; every mapping is also appended to the compacted `idmap.ledger` topic, keyed
`tenant|destination|type|keap_id`, so `rebuild_from_ledger` can restore Redis from the start.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import redis
from kafka import KafkaConsumer, TopicPartition

from invoicesync.errors import Transient
from invoicesync.events import Envelope, EventType, Topic, envelope_from_bytes
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.publisher import Publisher, RawRecord
from invoicesync.kafka.topics import topic_name
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import reply_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MappedId:
    destination_id: str
    content_hash: str
    destination_status: str = ""
    # The version of the content written (Keap's modification time, ISO-8601; "" unknown).
    keap_modified_at: str = ""
    # The ledger number when it is not the one Keap's number gives (a reissue after a void).
    ledger_number: str = ""


# The status a re-sync gives the mapping of a voided invoice: write it anew, under
# `ledger_number`, instead of refusing to edit the voided one.
TO_REISSUE = "TO_REISSUE"


def ledger_key(tenant_id: str, destination: str, object_type: str, keap_id: str) -> str:
    return f"{tenant_id}|{destination}|{object_type}|{keap_id}"


def _redis_key(tenant_id: str, destination: str, object_type: str, keap_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:idmap:{destination}:{object_type}:{keap_id}"


def _reverse_key(tenant_id: str, destination: str, object_type: str, destination_id: str) -> str:
    """Destination id → Keap id: ReverseSync starts from what the ledger shows."""
    return (
        f"invoicesync:tenant:{tenant_id}:idmap-reverse:{destination}:{object_type}:{destination_id}"
    )


class IdMap:
    """`publisher=None` keeps the map in Redis only (tests of code that never needs a rebuild)."""

    def __init__(
        self, client: redis.Redis, publisher: Publisher | None, settings: Settings
    ) -> None:
        self._redis = client
        self._publisher = publisher
        self._settings = settings

    def get(
        self, tenant_id: str, destination: str, object_type: str, keap_id: str
    ) -> MappedId | None:
        raw = self._redis.get(_redis_key(tenant_id, destination, object_type, keap_id))
        if raw is None:
            return None
        stored = json.loads(raw)
        known = {name: stored[name] for name in MappedId.__dataclass_fields__ if name in stored}
        return MappedId(**known)

    def keap_id_for(
        self, tenant_id: str, destination: str, object_type: str, destination_id: str
    ) -> str | None:
        """The Keap id whose mapping points at `destination_id`, if any."""
        raw = self._redis.get(_reverse_key(tenant_id, destination, object_type, destination_id))
        return None if raw is None else reply_text(raw)

    def put(
        self,
        tenant_id: str,
        destination: str,
        object_type: str,
        keap_id: str,
        mapped: MappedId,
    ) -> None:
        self.put_many(tenant_id, destination, object_type, {keap_id: mapped})

    def put_many(
        self, tenant_id: str, destination: str, object_type: str, mappings: Mapping[str, MappedId]
    ) -> None:
        """Ledger first (a mapping Redis holds must survive a Redis loss): every record sent to
        the ledger topic and acknowledged, then one Redis round trip."""
        if not mappings:
            return
        if self._publisher is not None:
            ledger_topic = topic_name(Topic.ID_MAP_LEDGER, self._settings)
            self._publisher.publish_raw_all(
                [
                    RawRecord(
                        ledger_topic,
                        ledger_key(tenant_id, destination, object_type, keap_id).encode(),
                        Envelope(
                            type=EventType.ID_MAPPED,
                            tenant_id=tenant_id,
                            payload={
                                "destination": destination,
                                "object_type": object_type,
                                "keap_id": keap_id,
                                **asdict(mapped),
                            },
                        ).to_bytes(),
                    )
                    for keap_id, mapped in mappings.items()
                ]
            )
        pipeline = self._redis.pipeline()
        for keap_id, mapped in mappings.items():
            pipeline.set(
                _redis_key(tenant_id, destination, object_type, keap_id),
                json.dumps(asdict(mapped)),
            )
            pipeline.set(
                _reverse_key(tenant_id, destination, object_type, mapped.destination_id), keap_id
            )
        pipeline.execute()

    def delete(self, tenant_id: str, destination: str, object_type: str, keap_id: str) -> None:
        if self._publisher is not None:
            # A tombstone: compaction drops the key, and a rebuild deletes it.
            self._publisher.publish_raw(
                topic_name(Topic.ID_MAP_LEDGER, self._settings),
                ledger_key(tenant_id, destination, object_type, keap_id).encode(),
                None,
            )
        current = self.get(tenant_id, destination, object_type, keap_id)
        keys = [_redis_key(tenant_id, destination, object_type, keap_id)]
        if current is not None:
            keys.append(_reverse_key(tenant_id, destination, object_type, current.destination_id))
        self._redis.delete(*keys)


def rebuild_from_ledger(settings: Settings, client: redis.Redis, *, timeout: float = 30.0) -> int:
    """Replay the whole ledger into Redis (last value per key wins, tombstones delete).
    Returns how many mappings Redis holds from it afterwards."""
    name = topic_name(Topic.ID_MAP_LEDGER, settings)
    consumer = KafkaConsumer(
        **kafka_connection(settings),
        enable_auto_commit=False,
        group_id=None,
    )
    try:
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        latest = _read_until(consumer, ends, timeout)
    finally:
        consumer.close()
    pipeline = client.pipeline(transaction=False)
    kept = 0
    for key, value in latest.items():
        tenant_id, destination, object_type, keap_id = key.split("|", 3)
        redis_key = _redis_key(tenant_id, destination, object_type, keap_id)
        if value is None:
            pipeline.delete(redis_key)
            continue
        payload = envelope_from_bytes(value).payload
        mapped = MappedId(
            destination_id=str(payload["destination_id"]),
            content_hash=str(payload["content_hash"]),
            destination_status=str(payload.get("destination_status", "")),
            keap_modified_at=str(payload.get("keap_modified_at", "")),
        )
        # Only what Redis lost: a mapping written while the rebuild ran is newer than ours.
        pipeline.set(redis_key, json.dumps(asdict(mapped)), nx=True)
        pipeline.set(
            _reverse_key(tenant_id, destination, object_type, mapped.destination_id),
            keap_id,
            nx=True,
        )
        kept += 1
    pipeline.execute()
    log.info("id map rebuilt from the ledger", extra={"mappings": kept, "topic": name})
    return kept


def _read_until(
    consumer: KafkaConsumer, ends: dict[TopicPartition, int], timeout: float
) -> dict[str, bytes | None]:
    latest: dict[str, bytes | None] = {}
    deadline = time.monotonic() + timeout
    while any(consumer.position(tp) < end for tp, end in ends.items()):
        if time.monotonic() > deadline:
            raise Transient("the id map ledger could not be read to its end in time")
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                if record.key is not None:
                    latest[record.key.decode()] = record.value
    return latest


RESTORED_MARKER = "invoicesync:idmap:restored-from-ledger"


def restore_id_map_if_lost(settings: Settings, client: redis.Redis) -> int | None:
    """Rebuild the id map from the ledger when Redis has lost it (its marker is gone, as after
    a flush or a new Redis); None when there was nothing to do."""
    if client.exists(RESTORED_MARKER):
        return None
    restored = rebuild_from_ledger(settings, client)
    client.set(RESTORED_MARKER, datetime.now(UTC).isoformat())
    return restored
