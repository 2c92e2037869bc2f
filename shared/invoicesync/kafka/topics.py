"""The topic registry: names, partitions, retention, cleanup policy and replication, created
idempotently; on existing topics the settings that drifted from the registry are repaired."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
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

    def config_for(self, replication_factor: int) -> dict[str, str]:
        """Every topic-level setting the registry manages, for a topic with that many replicas."""
        return self.config() | {"min.insync.replicas": str(min_insync_replicas(replication_factor))}


MANAGED_CONFIGS = ("retention.ms", "cleanup.policy", "min.insync.replicas")
CLUSTER_BROKERS = 3  # from this many brokers on, topics are replicated


def replication_factor_for(brokers: int) -> int:
    """One replica on a single broker (or two); three on a cluster."""
    return 1 if brokers < CLUSTER_BROKERS else CLUSTER_BROKERS


def min_insync_replicas(replication_factor: int) -> int:
    """With three replicas an acknowledged write is on two of them, so one broker may die
    without losing it; fewer replicas cannot demand two without refusing every write."""
    return 2 if replication_factor >= CLUSTER_BROKERS else 1


@dataclass(frozen=True)
class DescribedTopic:
    """An existing topic as the broker describes it: partitions, replicas, managed settings."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicRepair:
    """What to change on an existing topic so it matches the registry."""

    name: str
    config: dict[str, str] = field(default_factory=dict)  # settings to set
    partitions: int | None = None  # the new partition count, when it must grow
    warnings: tuple[str, ...] = ()

    @property
    def changes_anything(self) -> bool:
        return bool(self.config) or self.partitions is not None


def repair_for(
    spec: TopicSpec, topic: DescribedTopic, *, partitions: int, brokers: int
) -> TopicRepair:
    """The repair `topic` needs to match `spec` with `partitions` partitions on `brokers`
    brokers. Partitions only ever grow (fewer would lose messages and is not possible);
    the replication factor is not changed here (that is a partition reassignment), so
    `min.insync.replicas` follows the replicas the topic really has, and a topic with too few
    replicas is reported."""
    wanted = spec.config_for(topic.replication_factor)
    config = {key: value for key, value in wanted.items() if topic.config.get(key) != value}
    warnings: list[str] = []
    wanted_replicas = replication_factor_for(brokers)
    if topic.replication_factor < wanted_replicas:
        warnings.append(
            f"{topic.name} has {topic.replication_factor} replica(s), the registry wants "
            f"{wanted_replicas} on {brokers} brokers; reassign its partitions to change that"
        )
    return TopicRepair(
        name=topic.name,
        config=config,
        partitions=partitions if topic.partitions < partitions else None,
        warnings=tuple(warnings),
    )


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
    """Create every registered topic that does not exist yet and repair the registry's settings
    on those that do (as far as this user may); returns the names created."""
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
        brokers = _broker_count(admin)
        replicas = replication_factor_for(brokers)
        wanted = [
            NewTopic(
                name=topic_name(spec.topic, settings),
                num_partitions=spec.partitions or settings.topic_partitions,
                replication_factor=replicas,
                topic_configs=spec.config_for(replicas),
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
        present = {topic_name(spec.topic, settings): spec for spec in TOPIC_SPECS}
        _repair_topics(
            admin,
            {name: spec for name, spec in present.items() if name in existing},
            settings,
            brokers,
        )
        return created
    finally:
        admin.close()


def _repair_topics(
    admin: KafkaAdminClient, specs: Mapping[str, TopicSpec], settings: Settings, brokers: int
) -> None:
    """Bring existing topics back to the registry's settings. A service's own user may not see
    or change topic settings (only the admin's provisioning does): then nothing is repaired."""
    if not specs:
        return
    described = _describe(admin, list(specs))
    for name, spec in specs.items():
        topic = described.get(name)
        if topic is None:
            continue
        repair = repair_for(
            spec, topic, partitions=spec.partitions or settings.topic_partitions, brokers=brokers
        )
        for warning in repair.warnings:
            log.warning("topic not as the registry wants it", extra={"detail": warning})
        if not topic.config:
            repair = TopicRepair(name, partitions=repair.partitions)  # settings unseen: kept
        if repair.changes_anything:
            _apply(admin, repair)


def _describe(admin: KafkaAdminClient, names: list[str]) -> dict[str, DescribedTopic]:
    topics = {
        topic["name"]: topic for topic in admin.describe_topics(names) if not topic["error_code"]
    }
    configs = (
        admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, name, list(MANAGED_CONFIGS))
                for name in topics
            ],
            config_filter="all",
        ).get("topic", {})
        if topics
        else {}
    )
    described = {}
    for name, topic in topics.items():
        values = {key: entry["value"] for key, entry in configs.get(name, {}).items()}
        described[name] = DescribedTopic(
            name=name,
            partitions=len(topic["partitions"]),
            replication_factor=max(len(p["replica_nodes"]) for p in topic["partitions"]),
            # All or nothing: a user refused the settings is told none of them.
            config=values if set(MANAGED_CONFIGS) <= set(values) else {},
        )
    return described


def _apply(admin: KafkaAdminClient, repair: TopicRepair) -> None:
    if repair.config:
        result = admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, repair.name, dict(repair.config))],
            incremental=True,
        )
        outcome = result.get("topic", {}).get(repair.name, "no answer")
        if outcome == "OK":
            log.info("topic settings repaired", extra={"topic": repair.name, **repair.config})
        else:
            log.warning(
                "could not repair topic settings",
                extra={"topic": repair.name, "error": outcome},
            )
    if repair.partitions is not None:
        try:
            admin.create_partitions({repair.name: repair.partitions}, timeout_ms=30_000)
        except KafkaError as exc:
            log.warning(
                "could not add partitions",
                extra={"topic": repair.name, "partitions": repair.partitions, "error": repr(exc)},
            )
        else:
            log.info(
                "topic partitions added",
                extra={"topic": repair.name, "partitions": repair.partitions},
            )


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


def _broker_count(admin: KafkaAdminClient) -> int:
    """Brokers registered, fenced ones too: a cluster with one broker down is still a cluster."""
    return len(admin.describe_cluster().get("brokers", []))


def main() -> None:
    """Create the registered topics on the configured broker (run by `make up` and at start)."""
    from invoicesync.logging import configure_logging

    settings = Settings.from_env()
    configure_logging("topics", settings.log_level)
    created = ensure_topics(settings)
    print(f"topics ready ({len(created)} created)")


if __name__ == "__main__":
    main()
