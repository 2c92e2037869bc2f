"""A group join kafka-python 3.0.12 can finish and then never apply, and how a loop notices it.

A rebalance the leader starts itself (its metadata changed, as when a member subscribes to
another topic) runs JoinGroup and SyncGroup in a task on the client's network thread. When
`poll()` gives up waiting before that task is done, and the leader's assignment is made
while no `poll()` is running, the assignment also clears what made `need_rejoin()` true.
The next `poll()` then never awaits the finished task: the member stays REBALANCING with
heartbeats off, its partitions pending revocation, fetching nothing, while `assignment()`
still names them. The broker drops it after the session timeout and the group goes on
without it, for good (kafka/coordinator/base.py `join_group_async`,
consumer.py `need_rejoin`). Asking for a rejoin makes the next `poll()` await the task, or
join again if its answer was already thrown away.
"""

from __future__ import annotations

import logging

from kafka import KafkaConsumer
from kafka.structs import MemberState

log = logging.getLogger(__name__)


def finish_unapplied_join(consumer: KafkaConsumer) -> bool:
    """After `poll()`: a member left rebalancing with no rejoin asked for is asked to rejoin
    (True). That is also the state while a join is simply still under way, when asking
    changes nothing: the next `poll()` awaits the same join."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or coordinator.state is not MemberState.REBALANCING:
        return False
    if coordinator.rejoin_needed:
        return False
    coordinator.request_rejoin()
    join_task = getattr(coordinator, "_join_task", None)
    if join_task is not None and join_task.is_done:
        log.warning(
            "the consumer's finished group join was never applied; rejoining",
            extra={"group": consumer.config.get("group_id")},
        )
    return True
