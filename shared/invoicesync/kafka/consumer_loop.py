"""The one consumer loop: poll, decode, handle, publish, commit; retry, defer, dead-letter, drain.

A handler receives a run of envelopes of one tenant, in partition order, and returns the events
to publish. The loop publishes what one poll's handlers returned as one batch (sent together,
each send's acknowledgement awaited), and only then counts those messages finished; what is
finished is committed at most once a `commit_interval_seconds`, and always before a rebalance
takes partitions away, when something was dead-lettered, and on a stop. Before a tenant's next
run in the same poll, what its earlier run returned is published first, so a handler always
sees its tenant's earlier work as published. Failures:
- `InvalidInput` (or an undecodable message): dead-lettered at once;
- `RateLimited` for longer than a moment: that tenant's messages are set aside until the
  provider's wait is over, while other tenants on the partition go on; the committed offset
  never passes a message that is set aside;
- a dependency down (`Transient`: a provider's 5xx or timeout, the broker, a batch that the
  broker did not acknowledge): that tenant is paused the same way and retried with capped
  exponential backoff for the retry budget (hours), however many attempts that takes; the
  pause is on the tenant's status while it lasts;
- Redis (our own infrastructure) unreachable: waited out, rewinding to the last commit; an
  outage is never counted as an attempt nor dead-lettered;
- anything else: retried as the `RetryPolicy` says, then dead-lettered as the
  `DeadLetterPolicy` says.
No error, not even one on the way to a dead letter, ends the loop: an iteration that fails
rewinds to the last commit and is tried again after a backoff.
Between polls it runs the service's `PeriodicTask`s. SIGTERM stops polling, commits what is
finished and closes.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from invoicesync.errors import InvalidInput, RateLimited, Transient
from invoicesync.events import Envelope, Topic, envelope_from_bytes
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.failure_policies import DeadLetter, DeadLetterPolicy, RetryPolicy
from invoicesync.kafka.group_join import poll_through_rebalance
from invoicesync.kafka.partitioning import partition_for_key
from invoicesync.kafka.pending_messages import (
    PartitionProgress,
    PendingMessage,
    consumed_record,
    runs_by_partition,
    runs_by_tenant,
)
from invoicesync.kafka.periodic_tasks import PeriodicSchedule, PeriodicTask
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.kafka.tenant_workers import (
    HandlerCall,
    RunHandler,
    RunKey,
    TenantWorkers,
    timed_call,
)
from invoicesync.kafka.topics import group_name, topic_name
from invoicesync.metrics import HANDLER_SECONDS, MESSAGES_HANDLED
from invoicesync.settings import Settings
from invoicesync.stores.paused_work import PausedWork, PausedWorkBoard
from invoicesync.stores.redis_connection import redis_from_settings

log = logging.getLogger(__name__)

# What a service does once the broker has acknowledged what its handler returned.
AfterPublish = Callable[[Sequence[Outgoing]], None]
UNKNOWN_TENANT = "unknown"
# A provider wait shorter than this is slept through inline; longer ones set the tenant aside.
INLINE_WAIT_SECONDS = 1.0
# How long a rewind waits for the broker to say where the last commit is (kafka-python waits
# for ever by default, which would hold the loop, and SIGTERM, for a whole broker outage).
COMMITTED_TIMEOUT_MS = 10_000
# A member silent this long is dropped from its group and its partitions go to the others: how
# soon the replicas of a service take over from one that died.
SESSION_TIMEOUT_MS = 10_000
# A commit per poll was a broker write per poll for every group, most of the broker's work in a
# steady stream of single messages. Waiting this long between commits means a crash redelivers
# up to this much more, which the handlers' idempotent effects absorb.
COMMIT_INTERVAL_SECONDS = 1.0


def one_at_a_time(handler: Callable[[Envelope], Sequence[Outgoing]]) -> RunHandler:
    """Adapt a per-message handler to the loop's run-of-messages interface."""

    def handle_run(envelopes: Sequence[Envelope]) -> list[Outgoing]:
        outgoing: list[Outgoing] = []
        for envelope in envelopes:
            outgoing.extend(handler(envelope))
        return outgoing

    return handle_run


@dataclass
class _Staged:
    """A run its handler finished, waiting for the poll's batch to be acknowledged."""

    tp: TopicPartition
    tenant_id: str
    chunk: list[PendingMessage]
    outgoing: Sequence[Outgoing]
    handler_seconds: float


@dataclass(frozen=True)
class LoopOptions:
    group_id: str
    topics: tuple[Topic, ...]
    max_run: int = 1
    retry: RetryPolicy = RetryPolicy()
    dead_letters: DeadLetterPolicy = DeadLetterPolicy()
    max_poll_records: int = 200
    poll_timeout_ms: int = 500
    # A handler whose calls grow with its run (transform reads each order) takes half the run
    # after a rate limit, so a share that refills a little at a time still lets it through. A
    # batching one (a writer puts 50 invoices in one call) keeps its runs: halving them would
    # spend a limited call on fewer invoices.
    shrink_runs_when_limited: bool = True
    commit_interval_seconds: float = COMMIT_INTERVAL_SECONDS
    # How many tenants' first runs of a poll the handler takes at once, on worker threads
    # (1: one at a time, on the loop's thread), for handlers that mostly wait on a provider:
    # one tenant at a time held a process to one provider round trip at a time. The handler
    # must be safe to call from several threads (`tenant_workers.handler_per_thread` for one
    # that keeps per-run state).
    concurrent_tenants: int = 1

    @classmethod
    def for_service(
        cls,
        settings: Settings,
        group_id: str,
        topics: tuple[Topic, ...],
        *,
        max_run: int = 1,
        dead_letters: DeadLetterPolicy | None = None,
        shrink_runs_when_limited: bool = True,
        concurrent_tenants: int = 1,
    ) -> LoopOptions:
        """A service's loop with the deployment's retry policy from the settings."""
        return cls(
            group_id=group_id,
            topics=topics,
            max_run=max_run,
            retry=RetryPolicy.from_settings(settings),
            dead_letters=dead_letters or DeadLetterPolicy(),
            shrink_runs_when_limited=shrink_runs_when_limited,
            concurrent_tenants=concurrent_tenants,
        )


class ConsumerLoop:
    def __init__(
        self,
        settings: Settings,
        options: LoopOptions,
        handler: RunHandler,
        publisher: Publisher,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        periodic: Sequence[PeriodicTask] = (),
        after_publish: AfterPublish | None = None,
        paused_work: PausedWorkBoard | None = None,
    ) -> None:
        self._settings = settings
        self._options = options
        self._retry = options.retry
        self._handler = handler
        self._publisher = publisher
        self._sleep = sleep
        self._clock = clock
        self._random = random.Random()
        self._stop = threading.Event()
        self._consumer: KafkaConsumer | None = None
        self._progress: dict[TopicPartition, PartitionProgress] = defaultdict(PartitionProgress)
        self._set_aside: dict[str, deque[PendingMessage]] = defaultdict(deque)
        self._resume_at: dict[str, float] = {}
        # Partitions a rebalance took away, and those of them the next one gave back: kafka-python
        # keeps its fetch position for a partition owned on both sides of a rebalance, past the
        # messages forgotten with the revoke, so the loop reads them again from the commit.
        self._revoked: set[TopicPartition] = set()
        self._to_rewind: set[TopicPartition] = set()
        # Tenants whose run outgrew their rate-limit share: the most messages per handler call
        # until their set-aside work is done, halved by each run the share refused and doubled
        # by each it held. A run that fails part-way is redone whole, so an always-drained share
        # still gets one message at a time through; a share that refills takes the backlog in
        # runs that batch well (one ledger call for many invoices), not a call per invoice.
        self._run_limit: dict[str, int] = {}
        self._periodic = PeriodicSchedule(periodic, clock)
        self._after_publish = after_publish
        self._failed_iterations = 0
        self._paused_work = paused_work or PausedWorkBoard(redis_from_settings(settings))
        self._paused: dict[str, PausedWork] = {}
        self._staged: list[_Staged] = []
        self._committed_at = clock()
        self._commit_now = False  # a dead letter was published: its message is not to come again
        self._workers = (
            TenantWorkers(options.concurrent_tenants, options.group_id)
            if options.concurrent_tenants > 1
            else None
        )

    # -- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, *, install_signal_handlers: bool = True) -> None:
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.stop())
            signal.signal(signal.SIGINT, lambda *_: self.stop())
        log.info("consumer loop started", extra={"group": self._options.group_id})
        try:
            while not self._stop.is_set():
                self.poll_once()
        finally:
            self.close()

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
            self._workers = None
        if self._consumer is None:
            return
        self._periodic.stop()
        try:
            self._commit()
        except (KafkaError, Transient):
            log.warning("final commit failed; unfinished messages will be redelivered")
        self._consumer.close(autocommit=False)
        self._consumer = None
        log.info("consumer loop stopped", extra={"group": self._options.group_id})

    # -- one iteration ---------------------------------------------------------------------

    def poll_once(self) -> int:
        """Poll once, handle what came and what is due, commit. Returns messages finished."""
        try:
            consumer = self._client()
            batches = poll_through_rebalance(
                consumer, self._poll_timeout_ms(), self._options.max_poll_records
            )
            if self._to_rewind:
                batches = self._rewind_given_back(consumer, batches)
            finished = 0
            decoded = []
            for tp, records in batches.items():
                undecodable, runs = self._decode(tp, records)
                finished += undecodable
                decoded.append((tp, runs))
            try:
                self._start_first_runs(decoded)
                for tp, runs in decoded:
                    finished += self._handle_partition_runs(tp, runs)
            finally:
                if self._workers is not None:
                    self._workers.drop()
            finished += self._handle_due_tenants()
            finished += self._publish_staged()
            self._commit_when_due()
            self._run_due_periodic_tasks()
        except Exception as exc:  # noqa: BLE001 - nothing may end the loop; redo from the commit
            self._failed_iterations += 1
            expected = isinstance(exc, (KafkaError, Transient)) or self._retry.is_outage(exc)
            log.log(
                logging.WARNING if expected else logging.ERROR,
                "loop iteration failed, rewinding to the last commit",
                exc_info=not expected,
                extra={"error": repr(exc), "failed_iterations": self._failed_iterations},
            )
            self._staged.clear()
            self._back_to_last_commit()
            self._sleep(self._retry.delay(self._failed_iterations, self._random))
            return 0
        self._failed_iterations = 0
        return finished

    def _decode(
        self, tp: TopicPartition, records: Sequence
    ) -> tuple[int, list[tuple[str, list[PendingMessage]]]]:
        """A partition's records as runs by tenant; one that is not an envelope is
        dead-lettered at once (the count returned beside the runs)."""
        pending: list[PendingMessage] = []
        undecodable = 0
        for raw in records:
            record = consumed_record(raw)
            try:
                envelope = envelope_from_bytes(record.value)
            except InvalidInput as exc:
                self._dead_letter(DeadLetter(record, None, UNKNOWN_TENANT, exc, attempts=1))
                self._finish(tp, record.offset)
                undecodable += 1
                continue
            pending.append(PendingMessage(record, envelope))
        return undecodable, runs_by_tenant(pending)

    def _handle_partition_runs(
        self, tp: TopicPartition, runs: list[tuple[str, list[PendingMessage]]]
    ) -> int:
        finished = 0
        for tenant_id, run in runs:
            if self._set_aside.get(tenant_id):
                self._set_aside_run(tp, tenant_id, run, retry_after=None)
                continue
            finished += self._handle_run(tp, tenant_id, run)
        return finished

    # -- tenants at once -------------------------------------------------------------------

    def _start_first_runs(self, decoded: list[tuple[TopicPartition, list]]) -> None:
        """Hand each tenant's first run of the poll to the workers, so their provider calls
        overlap; the runs are then taken in order as before, each its worker's answer."""
        if self._workers is None:
            return
        firsts: dict[RunKey, list[PendingMessage]] = {}
        tenants: set[str] = set()
        for tp, runs in decoded:
            for tenant_id, run in runs:
                if tenant_id not in tenants and not self._set_aside.get(tenant_id):
                    tenants.add(tenant_id)
                    limit = self._run_limit.get(tenant_id) or self._options.max_run
                    firsts[(tp, tenant_id)] = run[:limit]
        self._workers.start(self._handler, firsts)

    def _first_call(
        self, tp: TopicPartition, tenant_id: str, chunk: list[PendingMessage]
    ) -> HandlerCall:
        """The handler's answer for a chunk: its worker's, when one was started for it."""
        answer = None if self._workers is None else self._workers.answer((tp, tenant_id), chunk)
        return answer if answer is not None else timed_call(self._handler, chunk)

    def _handle_run(self, tp: TopicPartition, tenant_id: str, run: list[PendingMessage]) -> int:
        finished, start = 0, 0
        while start < len(run):
            limit = self._run_limit.get(tenant_id)
            chunk = run[start : start + (limit or self._options.max_run)]
            start += len(chunk)
            if self._set_aside.get(tenant_id):
                self._set_aside_run(tp, tenant_id, chunk, retry_after=None)
                continue
            finished += self._handle_chunk(tp, tenant_id, chunk)
            if limit and not self._set_aside.get(tenant_id):  # the share held: try more
                self._run_limit[tenant_id] = min(self._options.max_run, limit * 2)
        return finished

    def _handle_chunk(self, tp: TopicPartition, tenant_id: str, chunk: list[PendingMessage]) -> int:
        finished = 0
        if any(staged.tenant_id == tenant_id for staged in self._staged):
            finished += self._publish_staged()  # the tenant's earlier run first, as published
            if self._set_aside.get(tenant_id):  # ...which the broker did not take
                self._set_aside_run(tp, tenant_id, chunk, retry_after=None)
                return finished
        attempts = 0
        while True:
            attempts += 1
            try:
                if attempts == 1:
                    call = self._first_call(tp, tenant_id, chunk)
                else:
                    call = timed_call(self._handler, chunk)
            except RateLimited as exc:
                if exc.retry_after > INLINE_WAIT_SECONDS:
                    if self._options.shrink_runs_when_limited:
                        self._run_limit[tenant_id] = max(1, len(chunk) // 2)
                    self._set_aside_run(tp, tenant_id, chunk, exc.retry_after, exc)
                    return finished
                self._sleep(max(exc.retry_after, 0.05))
                attempts -= 1  # a provider's short wait is not a failure of ours
                continue
            except InvalidInput as exc:
                if len(chunk) > 1:
                    return finished + self._handle_singly(tp, tenant_id, chunk)
                self._give_up(tp, tenant_id, chunk[0], exc, attempts, "invalid")
                return finished + 1
            except Exception as exc:  # noqa: BLE001 - every other failure is retried, then parked
                if self._retry.is_outage(exc):
                    raise  # not this message's fault: poll_once waits the outage out
                if self._retry.is_dependency_down(exc):
                    return finished + self._pause_tenant(tp, tenant_id, chunk, exc)
                if attempts >= self._retry.max_attempts:
                    if len(chunk) > 1:
                        return finished + self._handle_singly(tp, tenant_id, chunk)
                    self._give_up(tp, tenant_id, chunk[0], exc, attempts, "failed")
                    return finished + 1
                log.warning(
                    "handler failed, will retry",
                    extra={"tenant_id": tenant_id, "attempt": attempts, "error": repr(exc)},
                )
                self._sleep(self._retry.delay(attempts, self._random))
                if self._stop.is_set():
                    raise Transient("stopping before the retry") from exc
                continue
            self._staged.append(_Staged(tp, tenant_id, chunk, call.outgoing, call.seconds))
            return finished

    def _handle_singly(
        self, tp: TopicPartition, tenant_id: str, chunk: list[PendingMessage]
    ) -> int:
        """A run failed as a whole: retry its messages one by one so only the poison one parks."""
        finished = 0
        for item in chunk:
            if self._set_aside.get(tenant_id):
                self._set_aside_run(tp, tenant_id, [item], retry_after=None)
                continue
            finished += self._handle_chunk(tp, tenant_id, [item])
        return finished

    def _publish_staged(self) -> int:
        """Publish every finished run's events as one batch; once the broker has them all, the
        service's after-publish step runs and the runs' messages count as finished. A batch the
        broker did not take pauses the tenants of its runs, as a failed publish always has."""
        staged, self._staged = self._staged, []
        if not staged:
            return 0
        outgoing = [item for run in staged for item in run.outgoing]
        try:
            self._publisher.publish_all(outgoing)
        except Exception as exc:
            if self._retry.is_outage(exc):
                raise  # poll_once redoes the iteration from the last commit
            if not self._retry.is_dependency_down(exc):
                return self._publish_run_by_run(staged)
            finished = 0
            for run in reversed(staged):  # each pause goes in front: keep the tenants' order
                finished += self._pause_tenant(run.tp, run.tenant_id, run.chunk, exc)
            return finished
        return self._published(staged, outgoing)

    def _publish_run_by_run(self, staged: list[_Staged]) -> int:
        """A batch failed in a way of its own (an event that cannot be sent): each run alone,
        so only a run whose events cannot be published is dead-lettered."""
        finished = 0
        for position, run in enumerate(staged):
            try:
                self._publisher.publish_all(run.outgoing)
            except Exception as exc:
                if self._retry.is_outage(exc):
                    raise
                if self._retry.is_dependency_down(exc):
                    for later in reversed(staged[position:]):
                        finished += self._pause_tenant(later.tp, later.tenant_id, later.chunk, exc)
                    return finished
                for item in run.chunk:
                    self._give_up(run.tp, run.tenant_id, item, exc, 1, "failed")
                finished += len(run.chunk)
                continue
            finished += self._published([run], run.outgoing)
        return finished

    def _published(self, staged: list[_Staged], outgoing: Sequence[Outgoing]) -> int:
        if self._after_publish is not None:
            self._after_publish(outgoing)
        for run in staged:
            HANDLER_SECONDS.labels(topic=run.chunk[0].record.topic).observe(run.handler_seconds)
            for item in run.chunk:
                MESSAGES_HANDLED.labels(topic=item.record.topic, outcome="ok").inc()
                self._finish(run.tp, item.record.offset)
            self._resumed(run.tenant_id)
        return sum(len(run.chunk) for run in staged)

    def _give_up(
        self, tp, tenant_id, item: PendingMessage, error: BaseException, attempts, outcome
    ):
        self._dead_letter(DeadLetter(item.record, item.envelope, tenant_id, error, attempts))
        MESSAGES_HANDLED.labels(topic=item.record.topic, outcome=outcome).inc()
        self._finish(tp, item.record.offset)

    # -- tenants set aside -----------------------------------------------------------------

    def _set_aside_run(
        self,
        tp,
        tenant_id,
        run: list[PendingMessage],
        retry_after: float | None,
        error: BaseException | None = None,
    ) -> None:
        queue = self._set_aside[tenant_id]
        now = self._clock()
        for item in reversed(run) if retry_after is not None else run:
            if retry_after is not None:
                item.failed(now, error or Transient("rate-limited"))
                queue.appendleft(item)
            else:
                queue.append(item)
            self._progress[tp].set_aside.add(item.record.offset)
        if retry_after is not None:
            self._resume_at[tenant_id] = self._clock() + retry_after
            log.info(
                "tenant rate-limited, its messages wait",
                extra={"tenant_id": tenant_id, "retry_after": retry_after, "waiting": len(queue)},
            )

    def _handle_due_tenants(self) -> int:
        finished = 0
        now = self._clock()
        for tenant_id in [t for t, at in self._resume_at.items() if at <= now]:
            del self._resume_at[tenant_id]
            queue = self._set_aside.pop(tenant_id, deque())
            items = list(queue)
            for item in items:
                tp = TopicPartition(item.record.topic, item.record.partition)
                self._progress[tp].set_aside.discard(item.record.offset)
            for tp, run in runs_by_partition(items):
                if self._set_aside.get(tenant_id):
                    self._set_aside_run(tp, tenant_id, run, retry_after=None)
                    continue
                overdue = [i for i in run if self._over_budget(i, now)]
                for item in overdue:
                    error = item.last_error or Transient(f"still failing after {item.failures}")
                    self._give_up(tp, tenant_id, item, error, item.failures, "failed")
                finished += len(overdue)
                finished += self._handle_run(tp, tenant_id, [i for i in run if i not in overdue])
            if not self._set_aside.get(tenant_id):
                self._run_limit.pop(tenant_id, None)
        return finished

    def _pause_tenant(
        self, tp: TopicPartition, tenant_id: str, chunk: list[PendingMessage], error: Exception
    ) -> int:
        """Something the chunk needs is down: set the tenant aside for a backoff, or give the
        chunk up once it has been failing for the whole retry budget."""
        now = self._clock()
        for item in chunk:
            item.failed(now, error)
        if any(self._over_budget(item, now) for item in chunk):
            for item in chunk:
                self._give_up(tp, tenant_id, item, error, item.failures, "failed")
            self._resumed(tenant_id)
            return len(chunk)
        failures = max(item.failures for item in chunk)
        delay = self._retry.delay(failures, self._random)
        for item in reversed(chunk):
            self._set_aside[tenant_id].appendleft(item)
            self._progress[tp].set_aside.add(item.record.offset)
        self._resume_at[tenant_id] = now + delay
        log.warning(
            "a dependency is unavailable, the tenant's work is paused",
            extra={
                "tenant_id": tenant_id,
                "error": repr(error),
                "failures": failures,
                "retry_in": round(delay, 3),
            },
        )
        failing_for = now - min(item.failing_since or now for item in chunk)
        wall = datetime.now(UTC)
        self._note_paused(
            tenant_id,
            PausedWork(
                group=self._options.group_id,
                since=wall - timedelta(seconds=failing_for),
                retry_at=wall + timedelta(seconds=delay),
                reason=str(error)[:300],
                waiting=len(self._set_aside[tenant_id]),
                failures=failures,
            ),
        )
        return 0

    def _over_budget(self, item: PendingMessage, now: float) -> bool:
        return (
            item.failing_since is not None
            and now - item.failing_since >= self._retry.budget_seconds
        )

    def _note_paused(self, tenant_id: str, pause: PausedWork) -> None:
        self._paused[tenant_id] = pause
        try:
            self._paused_work.record(tenant_id, pause)
        except Exception as exc:  # noqa: BLE001 - the status board must never stop the work
            log.warning("could not record a paused tenant", extra={"error": repr(exc)})

    def _resumed(self, tenant_id: str) -> None:
        if self._paused.pop(tenant_id, None) is None:
            return
        log.info("the tenant's work goes on", extra={"tenant_id": tenant_id})
        try:
            self._paused_work.clear(tenant_id, self._options.group_id)
        except Exception as exc:  # noqa: BLE001 - the record expires by itself
            log.warning("could not clear a paused tenant", extra={"error": repr(exc)})

    def _poll_timeout_ms(self) -> int:
        if not self._resume_at:
            return self._options.poll_timeout_ms
        until_due = min(self._resume_at.values()) - self._clock()
        return max(0, min(self._options.poll_timeout_ms, int(until_due * 1000)))

    # -- periodic work ---------------------------------------------------------------------

    def _run_due_periodic_tasks(self) -> None:
        for task in self._periodic.take_due():
            try:
                self._publisher.publish_all(task.run(self.owns_tenant))
            except Exception:  # noqa: BLE001 - periodic work is retried at its next interval
                log.exception(
                    "periodic task failed; it runs again at its next interval",
                    extra={"task": task.name},
                )

    def owns_tenant(self, tenant_id: str) -> bool:
        """True when this consumer holds the partition the tenant's key maps to."""
        if self._consumer is None:
            return False
        assigned = self._consumer.assignment()
        key = tenant_id.encode()  # Envelope.key
        for topic in self._options.topics:
            name = topic_name(topic, self._settings)
            partitions = sorted(self._consumer.partitions_for_topic(name) or ())
            if not partitions:
                continue
            if (
                TopicPartition(name, partitions[partition_for_key(key, len(partitions))])
                in assigned
            ):
                return True
        return False

    # -- offsets ---------------------------------------------------------------------------

    def _finish(self, tp: TopicPartition, offset: int) -> None:
        progress = self._progress[tp]
        progress.finished_up_to = max(progress.finished_up_to, offset)

    def _commit_when_due(self) -> None:
        now = self._clock()
        if self._commit_now or now - self._committed_at >= self._options.commit_interval_seconds:
            self._commit()
            self._committed_at = now

    def _commit(self) -> None:
        offsets = self._offsets_to_commit()
        if offsets and self._consumer is not None:
            self._consumer.commit(offsets)
            self._committed(offsets)
        self._commit_now = False

    async def commit_before_revoke(self) -> None:
        """The rebalance listener's commit, awaited on the client's network thread (where a
        blocking `commit()` may not run) while this loop's thread waits in `poll()`."""
        offsets = self._offsets_to_commit()
        if not offsets or self._consumer is None:
            return
        try:
            await self._consumer.commit_async(offsets)
        except KafkaError as exc:
            log.warning(
                "commit on revoke failed; those messages will be redelivered",
                extra={"error": repr(exc)},
            )
            return
        self._committed(offsets)

    def _offsets_to_commit(self) -> dict[TopicPartition, OffsetAndMetadata]:
        offsets = {}
        for tp, progress in self._progress.items():
            safe = progress.safe_offset()
            if safe is not None and safe != progress.next_to_commit:
                offsets[tp] = OffsetAndMetadata(safe, "", -1)
        return offsets

    def _committed(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        for tp, meta in offsets.items():
            self._progress[tp].next_to_commit = meta.offset

    def _back_to_last_commit(self) -> None:
        """Rewind; when the broker cannot even say where the last commit is (it is away), start
        over with a new consumer, which begins at the last commit once the broker is back."""
        try:
            self._rewind()
        except Exception as exc:  # noqa: BLE001 - the loop's failure path must not end it
            log.warning(
                "rewind failed; the consumer starts over from the last commit",
                extra={"error": repr(exc)},
            )
            self._drop_consumer()

    def _drop_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._set_aside.clear()
        self._resume_at.clear()
        self._progress.clear()
        if consumer is None:
            return
        try:
            consumer.close(autocommit=False)
        except Exception as exc:  # noqa: BLE001 - a broken client is dropped all the same
            log.debug("closing a failed consumer raised", extra={"error": repr(exc)})

    def _rewind(self) -> None:
        if self._consumer is None:
            return
        self._set_aside.clear()
        self._resume_at.clear()
        self._rewind_partitions(self._consumer, self._consumer.assignment())

    def _rewind_given_back(self, consumer: KafkaConsumer, batches: dict) -> dict:
        """Seek the partitions a rebalance gave back to their commit (a blocking call the
        rebalance listener may not make), dropping what this poll brought from the kept
        position: those messages come again, in order, after the ones set aside."""
        given_back, self._to_rewind = self._to_rewind, set()
        self._rewind_partitions(consumer, given_back & set(consumer.assignment()))
        return {tp: records for tp, records in batches.items() if tp not in given_back}

    def _rewind_partitions(self, consumer: KafkaConsumer, partitions) -> None:
        for tp in partitions:
            committed = consumer.committed(tp, timeout_ms=COMMITTED_TIMEOUT_MS)
            progress = self._progress[tp]
            progress.set_aside.clear()
            progress.finished_up_to = -1 if committed is None else committed - 1
            if committed is not None:
                consumer.seek(tp, committed)
            else:
                consumer.seek_to_beginning(tp)

    def _dead_letter(self, dead: DeadLetter) -> None:
        record = dead.record
        log.error(
            "message dead-lettered",
            extra={
                "tenant_id": dead.tenant_id,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error": repr(dead.error),
                "attempts": dead.attempts,
            },
        )
        outgoing = self._options.dead_letters.outgoing(
            dead,
            self._options.group_id,
            retry=self._retry,
            wait=self._wait,
            rng=self._random,
        )
        self._publisher.publish_all(outgoing)
        self._commit_now = True

    def _wait(self, seconds: float) -> bool:
        """Sleep; False when the loop was asked to stop meanwhile."""
        self._sleep(seconds)
        return not self._stop.is_set()

    # -- client ----------------------------------------------------------------------------

    def _client(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **kafka_connection(self._settings),
                group_id=group_name(self._options.group_id, self._settings),
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self._options.max_poll_records,
                session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=3_000,
                # A broker back from a restart is found within seconds, not kafka-python's 30 s.
                reconnect_backoff_max_ms=2_000,
                # A broker away when the loop starts: give up on it soon, poll_once tries again.
                bootstrap_timeout_ms=10_000,
                # The group's members told apart by process: which replica owns which partition
                # is read off the group's description (kafka-consumer-groups --describe).
                client_id=f"{self._options.group_id}-{os.getpid()}",
            )
            names = [topic_name(topic, self._settings) for topic in self._options.topics]
            self._consumer.subscribe(topics=names, listener=_ForgetRevoked(self))
        return self._consumer

    def forget_partitions(self, partitions) -> None:
        """Partitions moved to another consumer: what we set aside there is theirs to redo."""
        revoked = set(partitions)
        for tenant_id in list(self._set_aside):
            kept = deque(
                item
                for item in self._set_aside[tenant_id]
                if TopicPartition(item.record.topic, item.record.partition) not in revoked
            )
            if kept:
                self._set_aside[tenant_id] = kept
            else:
                del self._set_aside[tenant_id]
                self._resume_at.pop(tenant_id, None)
        for tp in revoked:
            self._progress.pop(tp, None)
        self._revoked |= revoked

    def rewind_after_poll(self, assigned) -> None:
        """Partitions taken away and given back are read again from the commit after the poll;
        a group's first assignment has no position yet and starts at the commit anyway."""
        self._to_rewind |= set(assigned) & self._revoked
        self._revoked = set()


class _ForgetRevoked(AsyncConsumerRebalanceListener):
    """kafka-python 3 runs the listener on its network thread, inside the loop's `poll()`."""

    def __init__(self, loop: ConsumerLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked) -> None:
        await self._loop.commit_before_revoke()
        self._loop.forget_partitions(revoked)

    async def on_partitions_assigned(self, assigned) -> None:
        self._loop.rewind_after_poll(assigned)
