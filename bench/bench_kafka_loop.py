"""Publish-to-handled latency and throughput of the consumer loop through the real broker."""

from __future__ import annotations

import time
import uuid

from bench.figures import Figure, percentile
from bench.infrastructure import running_infrastructure
from invoicesync.events import Envelope, EventType, Topic
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import ensure_topics
from invoicesync.settings import Settings
from tests.infrastructure import kafka_settings

MESSAGES = 300


def run() -> list[Figure]:
    with running_infrastructure() as (kafka, redis_url):
        settings = Settings(
            **kafka_settings(kafka),
            redis_url=redis_url,
            topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
        )
        ensure_topics(settings)
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
        publisher.close()
    return [
        Figure("kafka_publish_to_handled_p50", percentile(single, 0.5) * 1000, "ms"),
        Figure("kafka_publish_to_handled_p99", percentile(single, 0.99) * 1000, "ms"),
        Figure("kafka_loop_throughput_acked_publish", MESSAGES / elapsed, "msg/s"),
    ]
