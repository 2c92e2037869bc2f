"""The consumer loop against the real broker: commits, retries, dead letters, redelivery."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

import pytest
import redis
from kafka import KafkaConsumer
from redis.exceptions import ConnectionError as RedisConnectionError

from invoicesync.errors import InvalidInput, RateLimited, Transient
from invoicesync.events import Envelope, EventType, Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.consumer_loop import (
    ConsumerLoop,
    LoopOptions,
    one_at_a_time,
)
from invoicesync.kafka.failure_policies import DeadLetter, DeadLetterPolicy, RetryPolicy
from invoicesync.kafka.partitioning import partition_for_key
from invoicesync.kafka.periodic_tasks import PeriodicTask
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.kafka.topics import ensure_topics, group_name, topic_name
from invoicesync.stores.paused_work import PausedWorkBoard
from tests import waiting
from tests.infrastructure import free_port, kafka_environment, kafka_settings, start_kafka
from tests.integration.topic_reading import read_topic
from tests.waiting import DEADLINE_SECONDS, end_offsets

BROKER_OUTAGE_SECONDS = 1.0


def notification(tenant: str, number: int) -> Envelope:
    return Envelope(
        type=EventType.SYNC_RESULT_RECORDED, tenant_id=tenant, payload={"number": number}
    )


def publish(settings, envelopes: Sequence[Envelope], topic=Topic.KEAP_NOTIFICATIONS) -> None:
    publisher = Publisher(settings)
    publisher.publish_all([Outgoing(topic, envelope) for envelope in envelopes])
    publisher.close()


def run_until(loop: ConsumerLoop, done, timeout: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the loop did not get there in time"
        loop.poll_once()


def committed_offsets(settings, group: str, topic=Topic.KEAP_NOTIFICATIONS) -> int:
    offsets = waiting.committed_offsets(settings, group_name(group, settings))
    name = topic_name(topic, settings)
    return sum(offset for tp, offset in offsets.items() if tp.topic == name)


def loop_for(settings, group: str, handler, **options) -> ConsumerLoop:
    return ConsumerLoop(
        settings,
        LoopOptions(group_id=group, topics=(Topic.KEAP_NOTIFICATIONS,), **options),
        handler,
        Publisher(settings),
    )


def test_a_produced_message_is_consumed_and_its_output_published(settings, unique_name):
    publish(settings, [notification("tenant-a", 1)])
    seen: list[Envelope] = []

    def handler(envelope: Envelope) -> list[Outgoing]:
        seen.append(envelope)
        return [Outgoing(Topic.SYNC_RESULTS, notification(envelope.tenant_id, 100))]

    loop = loop_for(settings, unique_name, one_at_a_time(handler))
    run_until(loop, lambda: len(seen) == 1)
    loop.close()

    assert seen[0].payload == {"number": 1}
    assert [m["payload"] for m in read_topic(settings, Topic.SYNC_RESULTS, 1)] == [{"number": 100}]
    assert committed_offsets(settings, unique_name) == 1


def test_a_handler_failing_twice_then_succeeding_publishes_and_commits_once(settings, unique_name):
    publish(settings, [notification("tenant-a", 1)])
    calls = []

    def flaky(envelope: Envelope) -> list[Outgoing]:
        calls.append(envelope.event_id)
        if len(calls) < 3:
            raise TimeoutError("provider timed out")
        return [Outgoing(Topic.SYNC_RESULTS, notification(envelope.tenant_id, 7))]

    loop = loop_for(settings, unique_name, one_at_a_time(flaky))
    run_until(loop, lambda: len(calls) == 3)
    for _ in range(3):
        loop.poll_once()
    loop.close()

    assert len(calls) == 3 and len(set(calls)) == 1
    assert len(read_topic(settings, Topic.SYNC_RESULTS)) == 1
    assert committed_offsets(settings, unique_name) == 1
    assert read_topic(settings, Topic.DEAD_LETTERS) == []


def test_a_poison_message_lands_on_the_dead_letter_topic_with_its_error_and_origin(
    settings, unique_name
):
    publisher = Publisher(settings)
    publisher.publish_raw(topic_name(Topic.KEAP_NOTIFICATIONS, settings), b"tenant-a", b"{not json")
    publish(settings, [notification("tenant-a", 2)])
    handled = []

    def handler(envelope: Envelope) -> list[Outgoing]:
        handled.append(envelope.payload["number"])
        return []

    loop = loop_for(settings, unique_name, one_at_a_time(handler))
    run_until(loop, lambda: handled == [2])
    loop.close()

    [letter] = read_topic(settings, Topic.DEAD_LETTERS, 1)
    assert letter["type"] == "MessageDeadLettered"
    payload = letter["payload"]
    assert payload["original"]["topic"] == topic_name(Topic.KEAP_NOTIFICATIONS, settings)
    assert payload["original"]["offset"] == 0
    assert payload["original"]["value"] == {"text": "{not json"}
    assert payload["error"]["type"] == "InvalidInput"
    assert payload["group_id"] == unique_name
    assert committed_offsets(settings, unique_name) == 2


def test_a_handler_that_keeps_failing_is_dead_lettered_after_its_attempts(settings, unique_name):
    publish(settings, [notification("tenant-a", 1)])
    attempts = []

    def broken(envelope: Envelope) -> list[Outgoing]:
        attempts.append(1)
        raise (
            InvalidInput("Xero says: the contact name is missing")
            if len(attempts) > 9
            else (RuntimeError("boom"))
        )

    loop = loop_for(settings, unique_name, one_at_a_time(broken), retry=RetryPolicy(max_attempts=3))
    run_until(loop, lambda: committed_offsets(settings, unique_name) == 1)
    loop.close()

    assert len(attempts) == 3
    [letter] = read_topic(settings, Topic.DEAD_LETTERS, 1)
    assert letter["payload"]["attempts"] == 3
    assert letter["payload"]["error"] == {"type": "RuntimeError", "message": "boom"}


KILLED_CONSUMER = """
import os, signal, sys
import redis
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.publisher import Publisher
from invoicesync.events import Topic
from invoicesync.settings import Settings

settings = Settings(
    kafka_bootstrap_servers=sys.argv[1], redis_url=sys.argv[2], topic_prefix=sys.argv[3],
    kafka_username=os.environ["INVOICESYNC_KAFKA_USERNAME"],
    kafka_password=os.environ["INVOICESYNC_KAFKA_PASSWORD"],
)
effects = redis.Redis.from_url(settings.redis_url)

def handler(envelope):
    effects.incr(sys.argv[4])            # the effect is durable...
    os.kill(os.getpid(), signal.SIGKILL)  # ...and the process dies before the commit

loop = ConsumerLoop(settings, LoopOptions(group_id=sys.argv[4], topics=(Topic.KEAP_NOTIFICATIONS,)),
                    one_at_a_time(handler), Publisher(settings))
loop.run()
"""


def test_a_consumer_killed_between_effect_and_commit_gets_the_message_again(
    settings, unique_name, redis_client
):
    publish(settings, [notification("tenant-a", 1)])
    victim = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_CONSUMER,
            settings.kafka_bootstrap_servers,
            settings.redis_url,
            settings.topic_prefix,
            unique_name,
        ],
        env={**os.environ, **kafka_environment(settings)},
        timeout=120,
    )
    assert victim.returncode == -9
    assert int(redis_client.get(unique_name)) == 1

    redelivered = []
    loop = loop_for(settings, unique_name, one_at_a_time(lambda e: redelivered.append(e) or []))
    run_until(loop, lambda: len(redelivered) == 1)
    loop.close()
    assert redelivered[0].payload == {"number": 1}


def test_a_rate_limited_tenant_does_not_stall_another_on_the_same_partition(settings, unique_name):
    # One partition for both tenants: the worst case for head-of-line blocking.
    tp_count_one = settings.__class__(**{**settings.__dict__, "topic_partitions": 1})
    publish(
        tp_count_one, [notification("slow", 1), notification("fast", 2), notification("slow", 3)]
    )
    finished: dict[int, float] = {}
    limited = {"slow": True}

    def handler(envelope: Envelope) -> list[Outgoing]:
        if envelope.tenant_id == "slow" and limited["slow"]:
            limited["slow"] = False
            raise RateLimited("429", retry_after=2.0, tenant_id="slow")
        finished[envelope.payload["number"]] = time.monotonic()
        return []

    started = time.monotonic()
    loop = loop_for(settings, unique_name, one_at_a_time(handler))
    run_until(loop, lambda: len(finished) == 3)
    loop.close()

    assert finished[2] - started < 2.0, "the other tenant waited for the throttled one"
    assert finished[1] - started >= 2.0
    assert finished[1] <= finished[3], "the throttled tenant's order changed"
    assert committed_offsets(settings, unique_name) == 3


class Share:
    """A tenant's rate-limit share as the providers' clients keep it: `capacity` calls, refilled
    at `per_second`, and an empty share answered at once with a wait."""

    def __init__(self, capacity: int, per_second: float) -> None:
        self.capacity, self.per_second = capacity, per_second
        self.tokens, self.at = float(capacity), time.monotonic()

    def take(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens < 1:
            raise RateLimited("share used up", retry_after=1.5, tenant_id="busy")
        self.tokens -= 1


def test_a_run_larger_than_the_tenants_share_still_gets_through(settings, unique_name):
    # A run is redone whole after a rate limit: a run needing more calls than the share ever
    # holds would be set aside and redone forever, spending what trickles in each time.
    publish(settings, [notification("busy", n) for n in range(30)])
    share = Share(capacity=5, per_second=5.0)
    handled: list[int] = []

    def run_handler(envelopes: list[Envelope]) -> list[Outgoing]:
        for _ in envelopes:
            share.take()  # one call per message, all made before any of the run counts
        handled.extend(e.payload["number"] for e in envelopes)
        return []

    loop = ConsumerLoop(
        settings,
        LoopOptions(group_id=unique_name, topics=(Topic.KEAP_NOTIFICATIONS,), max_run=20),
        run_handler,
        Publisher(settings),
    )
    run_until(loop, lambda: len(handled) >= 30)
    loop.close()

    assert handled == list(range(30))
    assert committed_offsets(settings, unique_name) == 30


def test_a_share_that_refills_takes_the_backlog_in_batches_not_one_by_one(settings, unique_name):
    """A batching handler (one ledger call for many invoices) whose share ran dry: once it
    refills, the set-aside backlog goes through in runs, not one message per call, which
    would spend a call per invoice and take many times as long."""
    publish(settings, [notification("busy", n) for n in range(40)])
    share = Share(capacity=4, per_second=2.0)
    share.tokens = 0.0  # used up, as after an outage spent it on failures
    batches: list[int] = []

    def batching_handler(envelopes: list[Envelope]) -> list[Outgoing]:
        share.take()  # look up the contacts
        share.take()  # write every invoice of the run in one call
        batches.append(len(envelopes))
        return []

    loop = ConsumerLoop(
        settings,
        LoopOptions(group_id=unique_name, topics=(Topic.KEAP_NOTIFICATIONS,), max_run=20),
        batching_handler,
        Publisher(settings),
    )
    run_until(loop, lambda: sum(batches) >= 40)
    loop.close()
    print(f"runs that went through: {batches}")

    assert sum(batches) == 40
    assert committed_offsets(settings, unique_name) == 40
    assert len(batches) <= 10, f"{len(batches)} handler calls for 40 messages: {batches}"


class GroupMember:
    """A second member of the loop's group reading another topic, polled all along on a
    thread of its own as a live consumer is: a member that stops polling holds up the group's
    next rebalance (the leader starts one once it learns the member's topic) for its whole poll
    interval."""

    def __init__(self, settings, group: str, topic: Topic) -> None:
        self._consumer = KafkaConsumer(
            topic_name(topic, settings),
            group_id=group_name(group, settings),
            **kafka_connection(settings),
        )
        self._stop = threading.Event()
        self.assigned = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._consumer.poll(timeout_ms=100)
            if self._consumer.assignment():
                self.assigned.set()
        self._consumer.close()

    def leave(self) -> None:
        self._stop.set()
        self._thread.join()


def test_a_run_paused_before_a_rebalance_is_done_after_it_not_committed_past(settings, unique_name):
    """A tenant paused (its ledger down) when the group rebalances: the loop forgets what it
    set aside on the revoked partitions, and gets the same partitions back (the new member
    reads another topic). kafka-python keeps its fetch position for them, past the paused
    run: the loop must read them again from the commit, or later messages would be committed
    past the paused ones."""
    settings = replace(settings, consumer_backoff_seconds=0.05, consumer_backoff_max_seconds=0.2)
    publish(settings, [notification("paused", n) for n in range(3)])
    down, attempts, handled = [True], [0], []

    def handler(envelopes: list[Envelope]) -> list[Outgoing]:
        attempts[0] += 1
        if down[0]:
            raise Transient("the ledger is down")
        handled.extend(e.payload["number"] for e in envelopes)
        return []

    options = LoopOptions.for_service(
        settings, unique_name, (Topic.KEAP_NOTIFICATIONS,), max_run=10
    )
    loop = ConsumerLoop(settings, options, handler, Publisher(settings))
    run_until(loop, lambda: attempts[0] >= 1)
    joiner = GroupMember(settings, unique_name, Topic.SYNC_RESULTS)
    try:
        run_until(loop, joiner.assigned.is_set)
        down[0] = False
        publish(settings, [notification("paused", 3)])
        run_until(loop, lambda: len(set(handled)) == 4)
    finally:
        loop.close()
        joiner.leave()

    assert sorted(set(handled)) == [0, 1, 2, 3]
    assert committed_offsets(settings, unique_name) == 4


def test_work_finished_but_not_yet_committed_is_committed_before_a_rebalance_takes_it(
    settings, unique_name
):
    """Commits wait for the commit interval. A rebalance in between takes the partitions away
    (and gives them back: the new member reads another topic); what was finished is committed
    first, from kafka-python's network thread, where a blocking commit cannot run, so none of
    it is handled again."""
    publish(settings, [notification("steady", n) for n in range(3)])
    handled: list[int] = []
    loop = loop_for(
        settings,
        unique_name,
        one_at_a_time(lambda e: handled.append(e.payload["number"]) or []),
        commit_interval_seconds=3600,
    )
    joiner = None
    try:
        run_until(loop, lambda: len(handled) == 3)
        assert committed_offsets(settings, unique_name) == 0, "the interval is not over"
        joiner = GroupMember(settings, unique_name, Topic.SYNC_RESULTS)
        run_until(loop, joiner.assigned.is_set)
        assert committed_offsets(settings, unique_name) == 3
        publish(settings, [notification("steady", 3)])
        run_until(loop, lambda: 3 in handled)
    finally:
        if joiner is not None:
            joiner.leave()
        loop.close()
    assert handled == [0, 1, 2, 3]


def test_a_dead_letter_is_committed_at_once_not_after_the_interval(settings, unique_name):
    """A dead-lettered message is not to come again, so its commit does not wait."""
    publish(settings, [notification("poison", 1)])

    def poison(envelope: Envelope) -> list[Outgoing]:
        raise InvalidInput("amount: not a number")

    loop = loop_for(settings, unique_name, one_at_a_time(poison), commit_interval_seconds=3600)
    try:
        run_until(loop, lambda: committed_offsets(settings, unique_name) == 1)
    finally:
        loop.close()


def test_a_batching_consumer_keeps_its_runs_whole_when_rate_limited(settings, unique_name):
    """A writer's calls do not grow with its run: limited, it sets its run aside and takes it
    whole when the share has refilled, instead of halving it into more calls for fewer
    invoices each (the writers' loops run this way)."""
    publish(settings, [notification("busy", n) for n in range(40)])
    share = Share(capacity=2, per_second=1.0)
    share.tokens = 0.0
    batches: list[int] = []

    def batching_handler(envelopes: list[Envelope]) -> list[Outgoing]:
        share.take()
        share.take()
        batches.append(len(envelopes))
        return []

    options = LoopOptions(
        group_id=unique_name,
        topics=(Topic.KEAP_NOTIFICATIONS,),
        max_run=20,
        shrink_runs_when_limited=False,
    )
    loop = ConsumerLoop(settings, options, batching_handler, Publisher(settings))
    run_until(loop, lambda: sum(batches) >= 40)
    loop.close()
    print(f"runs that went through: {batches}")

    assert sum(batches) == 40
    assert committed_offsets(settings, unique_name) == 40
    # Whole runs of 20 (a poll that brought part of the backlog may split one): halving after
    # each limit took 8 calls for these 40 messages.
    assert len(batches) <= 3, batches


@pytest.fixture
def own_kafka():
    """A broker this test may stop and start: the run's one is shared by every worker."""
    try:
        server = start_kafka()
    except Exception as exc:  # noqa: BLE001 - no broker here: the same skip as the run's
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Kafka broker could be started: {exc}")
    if not server.restartable():
        server.remove()
        pytest.skip("the broker is not ours to restart")
    yield server
    server.remove()


def test_a_broker_restart_in_the_middle_of_a_stream_loses_nothing(settings, unique_name, own_kafka):
    settings = replace(settings, **kafka_settings(own_kafka))
    ensure_topics(settings)
    kafka_server = own_kafka
    total = 60
    publisher = Publisher(settings, timeout_seconds=5)

    def produce() -> None:
        for number in range(total):
            while True:
                try:
                    publisher.publish(Topic.KEAP_NOTIFICATIONS, notification("tenant-a", number))
                    break
                except Exception:  # noqa: BLE001 - the broker is down: the sender retries
                    time.sleep(0.5)
            time.sleep(0.05)

    received: set[int] = set()
    loop = loop_for(
        settings,
        unique_name,
        one_at_a_time(lambda e: received.add(e.payload["number"]) or []),
    )
    producer = threading.Thread(target=produce)
    producer.start()
    run_until(loop, lambda: len(received) >= 10)
    kafka_server.stop()
    time.sleep(BROKER_OUTAGE_SECONDS)  # the fault itself: the broker stays down a while
    kafka_server.start()
    producer.join(timeout=180)
    run_until(loop, lambda: len(received) == total)
    loop.close()
    publisher.close()
    assert received == set(range(total))
    # Everything on the topic is committed. A publish that timed out during the outage may
    # have reached the log before the producer resent it: at least once, never lost.
    on_topic = sum(end_offsets(settings, [topic_name(Topic.KEAP_NOTIFICATIONS, settings)]).values())
    assert on_topic >= total
    assert committed_offsets(settings, unique_name) == on_topic


def test_a_loop_whose_broker_is_away_when_it_starts_waits_instead_of_ending(settings, unique_name):
    """A service (re)started while the broker is down: its first poll cannot even build the
    consumer (kafka-python gives up bootstrapping with KafkaTimeoutError), and that iteration
    fails like any other instead of ending the loop and the process."""
    away = replace(settings, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    loop = ConsumerLoop(
        away,
        LoopOptions(group_id=unique_name, topics=(Topic.KEAP_NOTIFICATIONS,)),
        one_at_a_time(lambda envelope: []),
        Publisher(away),
        sleep=lambda seconds: None,
    )

    assert loop.poll_once() == 0
    loop.close()


def test_periodic_work_runs_in_the_loop_for_the_tenants_it_owns_and_is_published(
    settings, unique_name
):
    tenants = [f"tenant-{n}" for n in range(8)]
    publish(settings, [notification(tenant, 0) for tenant in tenants])
    partitions_seen = {}
    consumer = KafkaConsumer(
        topic_name(Topic.KEAP_NOTIFICATIONS, settings),
        **kafka_connection(settings),
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    for record in consumer:
        partitions_seen[record.key.decode()] = record.partition
    consumer.close()
    asked: list[str] = []

    def sweep(owns) -> list[Outgoing]:
        asked.extend(tenant for tenant in tenants if owns(tenant))
        return [Outgoing(Topic.SYNC_RESULTS, notification("tenant-0", 99))]

    loop = ConsumerLoop(
        settings,
        LoopOptions(group_id=unique_name, topics=(Topic.KEAP_NOTIFICATIONS,)),
        one_at_a_time(lambda envelope: handled.append(envelope) or []),
        Publisher(settings),
        periodic=[PeriodicTask(interval_seconds=0.1, run=sweep)],
    )
    handled: list[Envelope] = []
    run_until(loop, lambda: len(handled) == len(tenants) and bool(asked))
    loop.close()

    assert set(asked) == set(tenants), "the only consumer owns every tenant"
    assert {t: partition_for_key(t.encode(), 3) for t in tenants} == partitions_seen
    assert {"number": 99} in [m["payload"] for m in read_topic(settings, Topic.SYNC_RESULTS, 1)]


def same_partition_tenants(count: int, partitions: int = 3) -> list[str]:
    """Tenant ids whose messages share one partition: the worst case for head-of-line blocking."""
    names = (f"tenant-{n}" for n in range(1000))
    first = next(names)
    wanted = partition_for_key(first.encode(), partitions)
    return [first] + [n for n in names if partition_for_key(n.encode(), partitions) == wanted][
        : count - 1
    ]


def test_a_provider_down_for_more_than_the_attempts_pauses_only_its_tenant_and_loses_nothing(
    settings, unique_name
):
    down, other = same_partition_tenants(2)
    publish(settings, [notification(down, 1), notification(other, 2), notification(down, 3)])
    board = PausedWorkBoard(redis.Redis.from_url(settings.redis_url))
    outage_calls = 12  # far more than the 3 attempts a message of its own fault gets
    calls: list[int] = []
    finished: list[int] = []
    seen_paused: list[int] = []

    def handler(envelope: Envelope) -> list[Outgoing]:
        if envelope.tenant_id == down and len(calls) < outage_calls:
            calls.append(envelope.payload["number"])
            seen_paused.append(len(board.for_tenant(down)))
            raise Transient("xero answered 500")
        finished.append(envelope.payload["number"])
        return []

    loop = loop_for(
        settings,
        unique_name,
        one_at_a_time(handler),
        retry=RetryPolicy(max_attempts=3, backoff_seconds=0.02, backoff_max_seconds=0.1),
    )
    run_until(loop, lambda: len(finished) == 3)
    after = board.for_tenant(down)
    loop.close()
    print(f"provider failures {len(calls)}, finished {finished}, paused seen {max(seen_paused)}")

    assert len(calls) == outage_calls and set(calls) == {1}
    assert finished.index(2) < finished.index(1), "the other tenant waited for the paused one"
    assert finished.index(1) < finished.index(3), "the paused tenant's order changed"
    assert max(seen_paused) == 1, "the pause was not on the tenant's status"
    assert after == [], "the pause outlived the outage"
    assert committed_offsets(settings, unique_name) == 3
    assert read_topic(settings, Topic.DEAD_LETTERS, timeout=2) == []


def test_a_provider_down_for_longer_than_the_retry_budget_is_dead_lettered(settings, unique_name):
    publish(settings, [notification("tenant-a", 1)])
    calls: list[float] = []

    def handler(envelope: Envelope) -> list[Outgoing]:
        calls.append(time.monotonic())
        raise Transient("qbo timed out")

    given_up: list[DeadLetter] = []
    budget = RetryPolicy(backoff_seconds=0.05, backoff_max_seconds=0.1, budget_seconds=1.0)
    loop = loop_for(
        settings,
        unique_name,
        one_at_a_time(handler),
        retry=budget,
        dead_letters=DeadLetterPolicy(reports=(lambda dead: given_up.append(dead) or [],)),
    )
    run_until(loop, lambda: bool(given_up))
    loop.poll_once()
    loop.close()
    assert committed_offsets(settings, unique_name) == 1

    [letter] = read_topic(settings, Topic.DEAD_LETTERS, 1)
    assert calls[-1] - calls[0] >= 0.8, "given up before the budget was spent"
    assert letter["payload"]["attempts"] == len(calls) > 5
    assert letter["payload"]["error"] == {"type": "Transient", "message": "qbo timed out"}


class DeadLetterPublishBreaksOnce(Publisher):
    """A failure of an unforeseen kind on the loop's own way to a dead letter."""

    broke = False

    def publish_all(self, outgoing: Sequence[Outgoing]) -> None:
        if any(item.topic is Topic.DEAD_LETTERS for item in outgoing) and not self.broke:
            self.broke = True
            raise ValueError("unexpected failure while dead-lettering")
        super().publish_all(outgoing)


def test_an_unexpected_error_while_dead_lettering_does_not_end_the_loop(settings, unique_name):
    publish(settings, [notification("tenant-a", 1), notification("tenant-a", 2)])
    handled: list[int] = []

    def handler(envelope: Envelope) -> list[Outgoing]:
        if envelope.payload["number"] == 1:
            raise InvalidInput("the contact name is missing")
        handled.append(envelope.payload["number"])
        return []

    publisher = DeadLetterPublishBreaksOnce(settings)
    loop = ConsumerLoop(
        settings,
        LoopOptions(group_id=unique_name, topics=(Topic.KEAP_NOTIFICATIONS,)),
        one_at_a_time(handler),
        publisher,
    )
    run_until(loop, lambda: handled == [2])  # poll_once would raise if the error escaped
    loop.close()

    assert publisher.broke
    assert len(read_topic(settings, Topic.DEAD_LETTERS, 1)) == 1
    assert committed_offsets(settings, unique_name) == 2


class CountingPublisher(Publisher):
    """Counts the batches the loop hands over; refuses the first `refuse` of them."""

    def __init__(self, settings, refuse: int = 0) -> None:
        super().__init__(settings)
        self.batches: list[int] = []
        self.refuse = refuse

    def publish_all(self, outgoing: Sequence[Outgoing]) -> None:
        if outgoing and self.refuse > 0:
            self.refuse -= 1
            raise Transient("the broker did not acknowledge the batch")
        if outgoing:
            self.batches.append(len(outgoing))
        super().publish_all(outgoing)


def test_a_polls_outputs_go_to_the_broker_as_one_batch_and_a_refused_batch_loses_nothing(
    settings, unique_name
):
    tenants = same_partition_tenants(4)
    messages = [notification(tenants[n % 4], n) for n in range(40)]
    publish(settings, messages)
    handled: list[int] = []

    def handler(envelope: Envelope) -> list[Outgoing]:
        handled.append(envelope.payload["number"])
        return [Outgoing(Topic.SYNC_RESULTS, notification(envelope.tenant_id, 1000 + len(handled)))]

    publisher = CountingPublisher(settings, refuse=1)
    loop = ConsumerLoop(
        settings,
        LoopOptions(
            group_id=unique_name,
            topics=(Topic.KEAP_NOTIFICATIONS,),
            max_run=20,
            retry=RetryPolicy(backoff_seconds=0.02, backoff_max_seconds=0.1),
        ),
        one_at_a_time(handler),
        publisher,
    )
    run_until(loop, lambda: sum(publisher.batches) >= 40)
    loop.close()

    assert committed_offsets(settings, unique_name) == 40
    assert sum(publisher.batches) == 40, "each message's event published once after the refusal"
    assert len(publisher.batches) < 10, f"published run by run: {publisher.batches}"
    per_tenant = [[n for n in handled if n % 4 == t] for t in range(4)]
    for order in per_tenant:
        assert order[-10:] == sorted(order[-10:]), "a tenant's order changed after the refusal"
    assert len(read_topic(settings, Topic.SYNC_RESULTS, 40)) >= 40


def test_a_run_whose_events_cannot_be_sent_is_dead_lettered_and_the_batch_goes_on(
    settings, unique_name
):
    tenants = same_partition_tenants(2)
    publish(settings, [notification(tenants[0], 1), notification(tenants[1], 2)])

    def handler(envelope: Envelope) -> list[Outgoing]:
        number = envelope.payload["number"]
        payload = {"unsendable": object()} if number == 1 else {"number": 100 + number}
        event = Envelope(EventType.SYNC_RESULT_RECORDED, "t", payload)
        return [Outgoing(Topic.SYNC_RESULTS, event)]

    given_up: list[DeadLetter] = []
    loop = loop_for(
        settings,
        unique_name,
        one_at_a_time(handler),
        dead_letters=DeadLetterPolicy(reports=(lambda dead: given_up.append(dead) or [],)),
    )
    run_until(loop, lambda: bool(given_up))
    loop.poll_once()
    loop.close()

    assert [m["payload"] for m in read_topic(settings, Topic.SYNC_RESULTS, 1)] == [{"number": 102}]
    [letter] = read_topic(settings, Topic.DEAD_LETTERS, 1)
    assert letter["payload"]["error"]["type"] == "TypeError"
    assert committed_offsets(settings, unique_name) == 2


class OverlapWatch:
    """Handler calls in flight, by tenant: the most at once overall, and whether one tenant's
    calls ever overlapped. The first call waits (up to a deadline) for a second one to start,
    so tenants handled one after another show as a single call in flight, not as a hang."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self.most_at_once = 0
        self.tenant_overlapped = False
        self._first_done = threading.Event()

    def call(self, tenant_id: str, work) -> list[Outgoing]:
        with self._lock:
            self._in_flight[tenant_id] = self._in_flight.get(tenant_id, 0) + 1
            self.tenant_overlapped |= self._in_flight[tenant_id] > 1
            self.most_at_once = max(self.most_at_once, sum(self._in_flight.values()))
            first = not self._first_done.is_set()
        try:
            if first:
                deadline = time.monotonic() + DEADLINE_SECONDS / 4
                while self.most_at_once < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self._first_done.set()
            return work()
        finally:
            with self._lock:
                self._in_flight[tenant_id] -= 1


def test_tenants_runs_of_a_poll_are_handled_at_once_in_order_each_once(settings, unique_name):
    """With concurrent_tenants, each tenant's first run of a poll goes to a worker thread:
    calls for different tenants overlap, a tenant's never do, and what they return is published
    and committed as from one thread: every message handled once, each tenant's in order."""
    tenants = same_partition_tenants(4)
    publish(settings, [notification(tenants[n % 4], n) for n in range(40)])
    watch, handled, lock = OverlapWatch(), [], threading.Lock()

    def handle_run(envelopes: Sequence[Envelope]) -> list[Outgoing]:
        def work() -> list[Outgoing]:
            with lock:
                handled.extend(e.payload["number"] for e in envelopes)
            return [Outgoing(Topic.SYNC_RESULTS, e) for e in envelopes]

        return watch.call(envelopes[0].tenant_id, work)

    loop = loop_for(settings, unique_name, handle_run, max_run=5, concurrent_tenants=4)
    try:
        run_until(loop, lambda: len(handled) >= 40)
    finally:
        loop.close()

    assert watch.most_at_once >= 2, "tenants were handled one after another"
    assert not watch.tenant_overlapped, "one tenant's runs overlapped"
    assert sorted(handled) == list(range(40)), "a message handled twice or never"
    for tenant in range(4):
        order = [n for n in handled if n % 4 == tenant]
        assert order == sorted(order), f"tenant {tenant}'s messages out of order: {order}"
    assert committed_offsets(settings, unique_name) == 40
    published = read_topic(settings, Topic.SYNC_RESULTS, 40)
    assert sorted(m["payload"]["number"] for m in published) == list(range(40))


def passes(numbers: list[int]) -> list[list[int]]:
    """A tenant's handled numbers split where they start again (a redo after a rewind)."""
    split: list[list[int]] = []
    for number in numbers:
        if not split or number < split[-1][-1]:
            split.append([])
        split[-1].append(number)
    return split


def test_an_outage_in_one_tenants_concurrent_run_redoes_the_poll_after_every_call_ends(
    settings, unique_name
):
    """Redis away during one tenant's worker call while another tenant's is still running:
    the loop waits for that call to end before it rewinds, so no tenant's work runs twice at
    once, and nothing is lost; the poll's messages are handled again, as after any outage."""
    settings = replace(settings, consumer_backoff_seconds=0.05, consumer_backoff_max_seconds=0.2)
    failing, slow, other = same_partition_tenants(3)  # the failing run is taken first
    publish(settings, [notification((failing, slow, other)[n % 3], n) for n in range(30)])
    watch, handled, lock = OverlapWatch(), [], threading.Lock()
    failed, slow_again, slow_calls = threading.Event(), threading.Event(), [0]

    def handle_run(envelopes: Sequence[Envelope]) -> list[Outgoing]:
        tenant = envelopes[0].tenant_id

        def work() -> list[Outgoing]:
            if tenant == failing and not failed.is_set():
                failed.set()
                raise RedisConnectionError("Redis is away")
            if tenant == slow:
                with lock:
                    slow_calls[0] += 1
                    first = slow_calls[0] == 1
                if first:
                    # Still running when the outage fails the poll: a loop that rewound at
                    # once would call this tenant again meanwhile.
                    failed.wait(DEADLINE_SECONDS / 4)
                    slow_again.wait(2.0)
                else:
                    slow_again.set()
            with lock:
                handled.extend(e.payload["number"] for e in envelopes)
            return []

        return watch.call(tenant, work)

    options = LoopOptions.for_service(
        settings, unique_name, (Topic.KEAP_NOTIFICATIONS,), max_run=10, concurrent_tenants=3
    )
    loop = ConsumerLoop(settings, options, handle_run, Publisher(settings))
    try:
        run_until(loop, lambda: set(handled) == set(range(30)) and slow_again.is_set())
    finally:
        loop.close()

    assert failed.is_set(), "the outage never happened"
    assert not watch.tenant_overlapped, "a tenant was called again while its call still ran"
    for position in range(3):
        last_pass = passes([n for n in handled if n % 3 == position])[-1]
        assert last_pass == list(range(position, 30, 3)), f"tenant {position}: {handled}"
    assert committed_offsets(settings, unique_name) == 30
