"""What the consumer loop keeps about the messages it read: each one's envelope and origin, and
per partition the offsets finished and set aside, so a commit never passes unfinished work."""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka import TopicPartition

from invoicesync.events import Envelope
from invoicesync.kafka.dead_letters import ConsumedRecord


@dataclass
class PendingMessage:
    record: ConsumedRecord
    envelope: Envelope
    # Times a provider, the broker or a rate limit made it wait, and since when (loop clock).
    failures: int = 0
    failing_since: float | None = None
    last_error: BaseException | None = None

    def failed(self, now: float, error: BaseException) -> None:
        self.failures += 1
        self.last_error = error
        if self.failing_since is None:
            self.failing_since = now


@dataclass
class PartitionProgress:
    """Offsets finished and offsets set aside, so the commit never passes unfinished work."""

    next_to_commit: int | None = None
    finished_up_to: int = -1
    set_aside: set[int] = field(default_factory=set)

    def safe_offset(self) -> int | None:
        if self.finished_up_to < 0 and not self.set_aside:
            return None
        candidate = self.finished_up_to + 1
        if self.set_aside:
            candidate = min(candidate, min(self.set_aside))
        return candidate


def consumed_record(raw) -> ConsumedRecord:
    return ConsumedRecord(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value,
        timestamp_ms=raw.timestamp,
        headers=tuple((name, value) for name, value in (raw.headers or [])),
    )


def runs_by_tenant(pending: list[PendingMessage]) -> list[tuple[str, list[PendingMessage]]]:
    """Group one partition's messages by tenant, keeping each tenant's order."""
    runs: dict[str, list[PendingMessage]] = {}
    for item in pending:
        runs.setdefault(item.envelope.tenant_id, []).append(item)
    return list(runs.items())


def runs_by_partition(
    items: list[PendingMessage],
) -> list[tuple[TopicPartition, list[PendingMessage]]]:
    runs: dict[TopicPartition, list[PendingMessage]] = {}
    for item in items:
        runs.setdefault(TopicPartition(item.record.topic, item.record.partition), []).append(item)
    return list(runs.items())
