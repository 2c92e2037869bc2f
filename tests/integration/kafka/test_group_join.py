"""kafka-python 3.0.12 can finish a group join and never apply it (see group_join.py): shown
on the real broker by a leader whose joins always finish while no poll() runs, and mended
by asking for a rejoin after each poll."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from kafka import KafkaConsumer
from kafka.structs import MemberState

from invoicesync.events import Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.group_join import finish_unapplied_join
from invoicesync.kafka.topics import group_name, topic_name
from tests.integration.kafka.test_consumer_loop import GroupMember, notification, publish
from tests.waiting import DEADLINE_SECONDS, eventually

# Short enough to give up on every join, which waits for the other member to rejoin too.
POLL_MS = 100
# Polls after a finished join with nothing changing: far more than the one poll applying it.
POLLS_WITHOUT_CHANGE = 20


class Leader:
    """The group's first member, polled briefly and never while a join is under way: each
    join finishes on the client's network thread between two polls."""

    def __init__(self, settings, group: str, *, mend: bool) -> None:
        self.consumer = KafkaConsumer(
            topic_name(Topic.KEAP_NOTIFICATIONS, settings),
            group_id=group_name(group, settings),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **kafka_connection(settings),
        )
        self.coordinator = self.consumer._coordinator
        self.mend = mend
        self.values: list[bytes] = []
        self.rejoins_asked = 0

    def poll(self) -> None:
        for records in self.consumer.poll(timeout_ms=POLL_MS).values():
            self.values.extend(record.value for record in records)
        if self.mend:
            self.rejoins_asked += finish_unapplied_join(self.consumer)
        eventually(self._no_join_under_way, "the leader's join to finish")

    def poll_until(self, condition, what: str) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not condition():
            assert time.monotonic() < deadline, f"never {what}"
            self.poll()

    def _no_join_under_way(self) -> bool:
        join_task = self.coordinator._join_task
        return join_task is None or join_task.is_done

    def stuck(self) -> bool:
        """Rebalancing, a finished join in hand, and nothing left that would ever apply it."""
        join_task = self.coordinator._join_task
        return (
            self.coordinator.state is MemberState.REBALANCING
            and join_task is not None
            and join_task.is_done
            and not self.coordinator.need_rejoin()
        )

    def stable_with_partitions(self) -> bool:
        return self.coordinator.state is MemberState.STABLE and bool(self.consumer.assignment())


@contextmanager
def leader_of_a_group_another_topic_joins(settings, group: str, *, mend: bool) -> Iterator[Leader]:
    """Once the leader learns the new member's topic (a change of its metadata), the leader
    starts a rebalance of its own, the kind the library can leave unapplied."""
    leader = Leader(settings, group, mend=mend)
    leader.poll_until(leader.stable_with_partitions, "joined")
    member = GroupMember(settings, group, Topic.LEDGER_NOTIFICATIONS)
    try:
        leader.poll_until(lambda: leader.coordinator.state is MemberState.REBALANCING, "rebalanced")
        yield leader
    finally:
        member.leave()
        leader.consumer.close(autocommit=False)


def test_kafka_python_leaves_a_join_it_finished_between_polls_unapplied(settings, unique_name):
    """If this fails after a kafka-python upgrade, the library applies such joins itself and
    `finish_unapplied_join` can go."""
    with leader_of_a_group_another_topic_joins(settings, unique_name, mend=False) as leader:
        leader.poll_until(leader.stuck, "left a finished join unapplied")
        for _ in range(POLLS_WITHOUT_CHANGE):
            leader.poll()
        assert leader.stuck()
        assert leader.coordinator.state is MemberState.REBALANCING


def test_a_leader_asked_to_rejoin_gets_its_partitions_back_and_reads_them(settings, unique_name):
    with leader_of_a_group_another_topic_joins(settings, unique_name, mend=True) as leader:
        leader.values.clear()
        publish(settings, [notification("tenant-a", 1)])
        leader.poll_until(
            lambda: leader.stable_with_partitions() and leader.values, "read its partitions"
        )
        assert leader.rejoins_asked >= 1
