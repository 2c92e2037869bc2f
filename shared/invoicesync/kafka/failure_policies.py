"""How the consumer loop deals with failure, as values a service passes to it (in the manner of
arroyo's `DlqPolicy`): how often and how long to retry, and where a message that cannot be
handled goes, with whatever else the service records about it."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kafka.errors import KafkaError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError as RedisReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from invoicesync.errors import Transient
from invoicesync.events import Envelope, Topic
from invoicesync.kafka.dead_letters import ConsumedRecord, dead_letter_envelope
from invoicesync.kafka.publisher import Outgoing
from invoicesync.settings import Settings

log = logging.getLogger(__name__)

# Our own infrastructure being away: waited out, never counted as an attempt, never a dead letter.
# (A Redis still loading its data answers BusyLoadingError, a ConnectionError; a replica being
# promoted answers ReadOnlyError.)
OUR_OUTAGES: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    RedisReadOnlyError,
)
# Something the message needs is unavailable (a provider's 5xx, timeout or rate limit, the
# broker): the message is not at fault, so it is retried for the whole budget, its tenant paused.
DEPENDENCY_DOWN: tuple[type[BaseException], ...] = (Transient, KafkaError)
HOUR_SECONDS = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with capped exponential backoff; `jitter` is the share of each delay drawn at
    random (0.5 is "equal jitter": between half the delay and all of it). A failure of the
    message's own (a bug, an unexpected error) gets `max_attempts`; a dependency being down
    gets `budget_seconds` of retries, however many that takes."""

    max_attempts: int = 5
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    jitter: float = 0.5
    outages: tuple[type[BaseException], ...] = OUR_OUTAGES
    budget_seconds: float = 24 * HOUR_SECONDS
    dependency_down: tuple[type[BaseException], ...] = DEPENDENCY_DOWN

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The deployment's retry policy."""
        return cls(
            max_attempts=settings.consumer_max_attempts,
            backoff_seconds=settings.consumer_backoff_seconds,
            backoff_max_seconds=settings.consumer_backoff_max_seconds,
            budget_seconds=settings.consumer_retry_budget_hours * HOUR_SECONDS,
        )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """How long to wait after failed attempt number `attempt` (1-based)."""
        exponent = min(max(attempt, 1) - 1, 32)
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2**exponent)
        return rng.uniform(ceiling * (1 - self.jitter), ceiling)

    def is_outage(self, error: BaseException) -> bool:
        return isinstance(error, self.outages)

    def is_dependency_down(self, error: BaseException) -> bool:
        return isinstance(error, self.dependency_down)


@dataclass(frozen=True)
class DeadLetter:
    """A message the loop gives up on: what was read, what it said (None when it could not be
    decoded), whose it is, and why."""

    record: ConsumedRecord
    envelope: Envelope | None
    tenant_id: str
    error: BaseException
    attempts: int


# A service's own record of a dead letter (e.g. a failed entry in the tenant's activity log):
# events published together with the dead letter itself.
DeadLetterReport = Callable[[DeadLetter], Sequence[Outgoing]]


@dataclass(frozen=True)
class DeadLetterPolicy:
    """Where a poison message goes and what its service reports with it. A report that fails
    because our infrastructure is away is retried with `retry`'s backoff and then the whole
    dead letter waits for the next delivery; a report that fails otherwise is logged and left
    out, so a broken report never stops the loop nor loses the dead letter."""

    topic: Topic = Topic.DEAD_LETTERS
    reports: tuple[DeadLetterReport, ...] = ()

    def outgoing(
        self,
        dead: DeadLetter,
        group_id: str,
        *,
        retry: RetryPolicy,
        wait: Callable[[float], bool],
        rng: random.Random,
    ) -> list[Outgoing]:
        """The dead letter and its reports. `wait(seconds)` sleeps and returns False when the
        loop is stopping; an outage that outlasts the retries is raised to the loop."""
        letter = dead_letter_envelope(
            dead.record,
            tenant_id=dead.tenant_id,
            error=dead.error,
            attempts=dead.attempts,
            group_id=group_id,
        )
        outgoing = [Outgoing(self.topic, letter)]
        for report in self.reports:
            outgoing += _report_of(report, dead, retry, wait, rng)
        return outgoing


def _report_of(
    report: DeadLetterReport,
    dead: DeadLetter,
    retry: RetryPolicy,
    wait: Callable[[float], bool],
    rng: random.Random,
) -> list[Outgoing]:
    attempt = 0
    while True:
        attempt += 1
        try:
            return list(report(dead))
        except Exception as exc:  # noqa: BLE001 - a report must never take the loop down
            if not retry.is_outage(exc):
                log.exception(
                    "dead-letter report failed; the dead letter goes without it",
                    extra={"tenant_id": dead.tenant_id},
                )
                return []
            if attempt >= retry.max_attempts or not wait(retry.delay(attempt, rng)):
                raise
            log.warning(
                "dead-letter report waits for Redis",
                extra={"tenant_id": dead.tenant_id, "attempt": attempt, "error": repr(exc)},
            )
