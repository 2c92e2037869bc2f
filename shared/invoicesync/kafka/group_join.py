"""Polling through a group rebalance, around two gaps in kafka-python 3.0.12's group join.

The join (JoinGroup, then SyncGroup) runs as a task on the client's network thread, and only
a `poll()` awaiting that task applies its answer (kafka/coordinator/base.py
`join_group_async`). When `poll()` gives up before the task is done and the task finishes
while no `poll()` runs:
- if a rejoin was asked for, the next `poll()` throws the finished answer away and joins
  again, and the other members must rejoin with it;
- if the rebalance was the leader's own (its metadata changed, as when a member subscribes to
  another topic), the leader's assignment also cleared what made `need_rejoin()` true, and
  no later `poll()` applies the answer at all: the member stays REBALANCING with heartbeats
  off and its partitions pending revocation, fetching nothing, for good, while `assignment()`
  still names them (consumer.py `need_rejoin`).
So a loop keeps polling while its member rebalances, and so never leaves a join to finish
between polls; in the moment between two polls, a finished answer left unapplied is found
and a rejoin asked for.
"""

from __future__ import annotations

import logging
import time

from kafka import KafkaConsumer
from kafka.structs import MemberState

log = logging.getLogger(__name__)

JOIN_POLL_MS = 500
# After this the loop does its other work (a stop, periodic tasks) and its next poll awaits
# the same join, however long other members take to rejoin.
REBALANCE_POLL_SECONDS = 10.0


def poll_through_rebalance(consumer: KafkaConsumer, timeout_ms: int, max_records: int) -> dict:
    """`consumer.poll(...)`, then more polls while the member is rebalancing (up to
    REBALANCE_POLL_SECONDS): the records of them all, by partition."""
    batches = consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
    deadline = time.monotonic() + REBALANCE_POLL_SECONDS
    while _rebalancing(consumer) and time.monotonic() < deadline:
        finish_unapplied_join(consumer)
        for partition, records in consumer.poll(
            timeout_ms=JOIN_POLL_MS, max_records=max_records
        ).items():
            batches.setdefault(partition, []).extend(records)
    return batches


def _rebalancing(consumer: KafkaConsumer) -> bool:
    coordinator = getattr(consumer, "_coordinator", None)
    return coordinator is not None and coordinator.state is MemberState.REBALANCING


def finish_unapplied_join(consumer: KafkaConsumer) -> bool:
    """Between polls: a member rebalancing with no rejoin asked for whose join has finished
    is asked to rejoin (True), since no `poll()` would apply that join."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or coordinator.state is not MemberState.REBALANCING:
        return False
    join_task = getattr(coordinator, "_join_task", None)
    if coordinator.rejoin_needed or join_task is None or not join_task.is_done:
        return False
    log.warning(
        "the consumer's finished group join was never applied; rejoining",
        extra={"group": consumer.config.get("group_id")},
    )
    coordinator.request_rejoin()
    return True
