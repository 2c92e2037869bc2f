"""The one way to run periodic work beside a consumer: tasks the consumer loop runs between polls.

A task runs in the loop's own thread, so never concurrently with the service's handler, and the
loop publishes the events it returns. It is told which tenants this consumer owns right now (the
tenants whose partitions it holds): work done per tenant does only those, so each tenant is
worked on by one replica at a time; work not tied to partitions (a round over every tenant)
ignores that and takes a Redis lease or lock of its own so that one replica does it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from invoicesync.kafka.publisher import Outgoing

TenantOwnership = Callable[[str], bool]


@dataclass(frozen=True)
class PeriodicTask:
    """`run` every `interval_seconds` (first at start); `on_stop` when the loop closes."""

    interval_seconds: float
    run: Callable[[TenantOwnership], Sequence[Outgoing]]
    name: str = "periodic task"
    on_stop: Callable[[], None] | None = None


class PeriodicSchedule:
    """When each of a loop's tasks is next due."""

    def __init__(self, tasks: Sequence[PeriodicTask], clock: Callable[[], float]) -> None:
        self._tasks = list(tasks)
        self._clock = clock
        self._due_at = [clock()] * len(self._tasks)

    def take_due(self) -> list[PeriodicTask]:
        """The tasks due now, each rescheduled one interval ahead."""
        now = self._clock()
        due = []
        for index, task in enumerate(self._tasks):
            if now >= self._due_at[index]:
                self._due_at[index] = now + task.interval_seconds
                due.append(task)
        return due

    def stop(self) -> None:
        for task in self._tasks:
            if task.on_stop is not None:
                task.on_stop()
