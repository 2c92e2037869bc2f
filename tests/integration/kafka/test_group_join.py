"""kafka-python 3.0.12 can leave a group join that finished between two polls unapplied, and
the member stalled for good (see group_join.py). A leader that polls only briefly, through a
member's join and its own rebalance after it, polls through them and reads its partitions.
Polled the same way without `poll_through_rebalance`, a leader stalls in most runs, though
not all: whether the join finishes between polls depends on timing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from kafka import KafkaConsumer
from kafka.structs import MemberState

from invoicesync.events import Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.group_join import poll_through_rebalance
from invoicesync.kafka.topics import group_name, topic_name
from tests.integration.kafka.test_consumer_loop import GroupMember, notification, publish
from tests.waiting import DEADLINE_SECONDS, eventually

# Shorter than a join, which waits for the other member to rejoin too.
POLL_MS = 100


class Leader:
    """The group's first member, polled briefly through its rebalances, and after each poll
    not polled again while a join is under way, as a loop busy with what it polled is not:
    a join still under way after the poll finishes between two polls."""

    def __init__(self, settings, group: str) -> None:
        self.consumer = KafkaConsumer(
            topic_name(Topic.KEAP_NOTIFICATIONS, settings),
            group_id=group_name(group, settings),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **kafka_connection(settings),
        )
        self.coordinator = self.consumer._coordinator
        self.values: list[bytes] = []

    def poll(self) -> None:
        batches = poll_through_rebalance(self.consumer, POLL_MS, 500)
        for records in batches.values():
            self.values.extend(record.value for record in records)
        eventually(self._no_join_under_way, "the leader's join to finish")

    def _no_join_under_way(self) -> bool:
        join_task = self.coordinator._join_task
        return join_task is None or join_task.is_done

    def poll_until(self, condition, what: str) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not condition():
            assert time.monotonic() < deadline, f"never {what}"
            self.poll()

    def generation(self) -> int:
        return self.consumer.group_metadata().generation_id

    def stable_with_partitions(self) -> bool:
        return self.coordinator.state is MemberState.STABLE and bool(self.consumer.assignment())


@contextmanager
def leader_of_a_group_another_topic_joins(settings, group: str) -> Iterator[Leader]:
    """Once the leader learns the new member's topic (a change of its metadata), the leader
    starts a rebalance of its own, the kind the library can leave unapplied."""
    leader = Leader(settings, group)
    leader.poll_until(leader.stable_with_partitions, "joined")
    member = GroupMember(settings, group, Topic.LEDGER_NOTIFICATIONS)
    try:
        yield leader
    finally:
        member.leave()
        leader.consumer.close(autocommit=False)


def test_a_leader_polling_through_its_rebalances_gets_its_partitions_back_and_reads_them(
    settings, unique_name
):
    with leader_of_a_group_another_topic_joins(settings, unique_name) as leader:
        # Generation 1 alone, 2 with the member, 3 the leader's own rebalance.
        leader.poll_until(lambda: leader.generation() >= 3, "rebalanced twice")
        leader.values.clear()
        publish(settings, [notification("tenant-a", 1)])
        leader.poll_until(
            lambda: leader.stable_with_partitions() and leader.values, "read its partitions"
        )
