"""Publish-to-handled latency and throughput of the consumer loop through the real broker."""

from __future__ import annotations

import time

from bench.figures import Figure, percentile
from bench.infrastructure import running_settings
from invoicesync.events import Envelope, EventType, Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.settings import Settings

MESSAGES = 300
CAPACITY_MESSAGES = 3000


def run() -> list[Figure]:
    with running_settings() as settings:
        publisher = Publisher(settings)
        latencies: list[float] = []

        def handler(envelope: Envelope):
            latencies.append(time.time() - envelope.payload["sent_at"])
            return []

        loop = ConsumerLoop(
            settings,
            LoopOptions(group_id="bench-loop", topics=(Topic.KEAP_NOTIFICATIONS,)),
            one_at_a_time(handler),
            Publisher(settings),
        )
        loop.poll_once()  # join the group before timing
        for number in range(50):  # one at a time: latency
            publisher.publish(
                Topic.KEAP_NOTIFICATIONS,
                Envelope(
                    EventType.SYNC_RESULT_RECORDED, f"t{number % 5}", {"sent_at": time.time()}
                ),
            )
            while len(latencies) <= number:
                loop.poll_once()
        single = list(latencies)
        started = time.perf_counter()
        for _ in range(MESSAGES):
            publisher.publish(
                Topic.KEAP_NOTIFICATIONS,
                Envelope(EventType.SYNC_RESULT_RECORDED, "t0", {"sent_at": time.time()}),
            )
        while len(latencies) < 50 + MESSAGES:
            loop.poll_once()
        elapsed = time.perf_counter() - started
        loop.close()
        capacity = _loop_capacity(settings, publisher)
        publisher.close()
    return [
        Figure("kafka_publish_to_handled_p50", percentile(single, 0.5) * 1000, "ms"),
        Figure("kafka_publish_to_handled_p99", percentile(single, 0.99) * 1000, "ms"),
        # Today's figure: bounded by the sender publishing one message at a time, acked each.
        Figure("kafka_loop_throughput_acked_publish", MESSAGES / elapsed, "msg/s"),
        Figure("kafka_loop_capacity", capacity, "msg/s"),
    ]


def _loop_capacity(settings: Settings, publisher: Publisher) -> float:
    """Messages a second the loop consumes, each answered by one published event: the backlog
    is in the topic before the clock starts, so only the loop is timed."""
    backlog = [
        Outgoing(
            Topic.KEAP_NOTIFICATIONS,
            Envelope(EventType.SYNC_RESULT_RECORDED, f"t{number % 20}", {"n": number}),
        )
        for number in range(CAPACITY_MESSAGES)
    ]
    publisher.publish_all(backlog)
    handled = [0]

    def handler(envelope: Envelope) -> list[Outgoing]:
        handled[0] += 1
        answer = Envelope(EventType.SYNC_RESULT_RECORDED, envelope.tenant_id, {})
        return [Outgoing(Topic.SYNC_RESULTS, answer)]

    loop = ConsumerLoop(
        settings,
        LoopOptions(group_id="bench-loop-capacity", topics=(Topic.KEAP_NOTIFICATIONS,), max_run=50),
        one_at_a_time(handler),
        Publisher(settings),
    )
    while handled[0] == 0:
        loop.poll_once()  # join the group; the first poll's messages are not timed
    first = handled[0]
    started = time.perf_counter()
    while handled[0] < CAPACITY_MESSAGES:
        loop.poll_once()
    elapsed = time.perf_counter() - started
    loop.close()
    return (CAPACITY_MESSAGES - first) / elapsed
