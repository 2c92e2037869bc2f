"""The one producer helper: acks from all in-sync replicas, idempotent, returns once confirmed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError

from invoicesync.errors import Transient
from invoicesync.events import Envelope, Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.partitioning import TenantKeyPartitioner
from invoicesync.kafka.topics import topic_name
from invoicesync.metrics import MESSAGES_PUBLISHED
from invoicesync.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """An event to publish: where it goes and what it says."""

    topic: Topic
    envelope: Envelope


@dataclass(frozen=True)
class RawRecord:
    """Bytes for a topic by its full name, published as they are."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class Publisher:
    """Publishes envelopes keyed by tenant. Create it after a gunicorn fork, never at import."""

    def __init__(self, settings: Settings, *, timeout_seconds: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout_seconds
        self._producer: KafkaProducer | None = None

    def _client(self) -> KafkaProducer:
        if self._producer is None:
            try:
                self._producer = KafkaProducer(
                    **kafka_connection(self._settings),
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=2,
                    partitioner=TenantKeyPartitioner(),
                    metrics_enabled=False,
                    max_block_ms=int(self._timeout * 1000),
                    request_timeout_ms=int(self._timeout * 1000),
                    delivery_timeout_ms=int(self._timeout * 1000) + 2000,
                    bootstrap_timeout_ms=int(self._timeout * 1000),
                    reconnect_backoff_max_ms=2_000,
                )
            except KafkaError as exc:
                raise Transient(f"Kafka unreachable: {exc}") from exc
        return self._producer

    def check_ready(self) -> None:
        """Readiness: the broker answers a metadata request for the topics we publish to."""
        try:
            partitions = self._client().partitions_for(
                topic_name(Topic.KEAP_NOTIFICATIONS, self._settings)
            )
        except KafkaError as exc:
            self._discard()
            raise Transient(f"Kafka unreachable: {exc}") from exc
        if not partitions:
            raise Transient("Kafka answers but the topics are missing")

    def publish(self, topic: Topic, envelope: Envelope) -> None:
        self.publish_all([Outgoing(topic, envelope)])

    def publish_all(self, outgoing: Sequence[Outgoing]) -> None:
        """Send every event, then wait until the broker acknowledged all of them, in order."""
        self.publish_raw_all(
            [
                RawRecord(
                    topic_name(item.topic, self._settings),
                    item.envelope.key,
                    item.envelope.to_bytes(),
                )
                for item in outgoing
            ]
        )
        for item in outgoing:
            MESSAGES_PUBLISHED.labels(topic=item.topic.value).inc()

    def publish_raw(
        self,
        name: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> None:
        """Publish bytes as they are (dead letters keep the original message untouched); a None
        value is a tombstone."""
        self.publish_raw_all([RawRecord(name, key, value, tuple(headers or ()))])

    def publish_raw_all(self, records: Sequence[RawRecord]) -> None:
        """`publish_raw` for many: every record sent, then every acknowledgement waited for."""
        if not records:
            return
        producer = self._client()
        try:
            futures = [
                producer.send(r.topic, key=r.key, value=r.value, headers=list(r.headers))
                for r in records
            ]
            for future in futures:
                future.get(timeout=self._timeout)
        except KafkaError as exc:
            self._discard()
            raise Transient(f"publish failed: {exc}") from exc

    def _discard(self) -> None:
        # A producer that failed a send may hold a broken idempotence state: start over next time.
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # noqa: BLE001 - closing a broken client must not mask the cause
                log.debug("closing a failed producer raised", exc_info=True)
            self._producer = None

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(timeout=self._timeout)
            self._producer.close(timeout=self._timeout)
            self._producer = None
