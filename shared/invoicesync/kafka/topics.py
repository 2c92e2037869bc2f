"""The topic registry: names, partitions, retention and cleanup policy, created idempotently."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import InvalidReplicationFactorError, KafkaError, TopicAlreadyExistsError

from invoicesync.errors import Transient
from invoicesync.events import Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.settings import Settings

log = logging.getLogger(__name__)

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    topic: Topic
    retention_ms: int
    cleanup_policy: str = "delete"
    partitions: int | None = None  # None: the settings' default

    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}


TOPIC_SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(Topic.KEAP_NOTIFICATIONS, retention_ms=7 * DAY_MS),
    TopicSpec(Topic.CANONICAL_EVENTS, retention_ms=30 * DAY_MS),
    TopicSpec(Topic.SYNC_RESULTS, retention_ms=30 * DAY_MS),
    TopicSpec(Topic.DEAD_LETTERS, retention_ms=90 * DAY_MS, partitions=1),
    TopicSpec(Topic.ID_MAP_LEDGER, retention_ms=-1, cleanup_policy="compact"),
    TopicSpec(Topic.LEDGER_NOTIFICATIONS, retention_ms=7 * DAY_MS),
)


def topic_name(topic: Topic, settings: Settings) -> str:
    """The broker-side name: the registry name behind an optional deployment prefix."""
    return f"{settings.topic_prefix}{topic.value}"


def group_name(group: str, settings: Settings) -> str:
    """The broker-side consumer group: the service's group behind the same prefix as its topics,
    so two deployments (or test stacks) on one broker never join each other's groups."""
    return f"{settings.topic_prefix}{group}"


def ensure_topics(settings: Settings, *, timeout_seconds: float = 60.0) -> list[str]:
    """Create every registered topic that does not exist yet; returns the names created."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            admin = KafkaAdminClient(
                **kafka_connection(settings),
                client_id="invoicesync-topics",
                request_timeout_ms=10_000,
            )
            break
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise Transient(f"Kafka unreachable: {exc}") from exc
            time.sleep(1)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                name=topic_name(spec.topic, settings),
                num_partitions=spec.partitions or settings.topic_partitions,
                replication_factor=1 if _single_broker(admin) else 3,
                topic_configs=spec.config(),
            )
            for spec in TOPIC_SPECS
            if topic_name(spec.topic, settings) not in existing
        ]
        created: list[str] = []
        for new_topic in wanted:
            if _create_topic(admin, new_topic):
                created.append(new_topic.name)
        if created:
            log.info("created topics", extra={"topics": created})
        return created
    finally:
        admin.close()


def _create_topic(admin: KafkaAdminClient, new_topic: NewTopic, wait_seconds: float = 120) -> bool:
    """Create one topic; False when it exists. A broker that is fenced for the moment (it
    missed its controller's heartbeats) has no replica to offer: waited out, not fatal."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            admin.create_topics([new_topic], timeout_ms=30_000)
            return True
        except TopicAlreadyExistsError:
            return False
        except InvalidReplicationFactorError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _single_broker(admin: KafkaAdminClient) -> bool:
    return len(admin.describe_cluster().get("brokers", [])) < 3


def main() -> None:
    """Create the registered topics on the configured broker (run by `make up` and at start)."""
    from invoicesync.logging import configure_logging

    settings = Settings.from_env()
    configure_logging("topics", settings.log_level)
    created = ensure_topics(settings)
    print(f"topics ready ({len(created)} created)")


if __name__ == "__main__":
    main()
