"""The consumer loop's failure policies as plain values: backoff bounds, reports that fail."""

from __future__ import annotations

import random

from invoicesync.errors import InvalidInput
from invoicesync.events import Envelope, EventType, Topic
from invoicesync.kafka.dead_letters import ConsumedRecord
from invoicesync.kafka.failure_policies import DeadLetter, DeadLetterPolicy, RetryPolicy
from invoicesync.kafka.publisher import Outgoing


def test_backoff_doubles_up_to_its_ceiling_and_jitters_within_the_lower_half():
    policy = RetryPolicy(backoff_seconds=0.5, backoff_max_seconds=4.0, jitter=0.5)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (60, 4.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2 and max(delays) <= ceiling


def test_a_report_that_fails_for_its_own_reasons_leaves_the_dead_letter_to_go_alone():
    record = ConsumedRecord("keap.notifications", 0, 41, b"t1", b"{}", 0)
    dead = DeadLetter(record, None, "t1", InvalidInput("bad"), attempts=1)

    def broken_report(_: DeadLetter) -> list[Outgoing]:
        raise ValueError("a bug in the report")

    def extra_report(letter: DeadLetter) -> list[Outgoing]:
        return [Outgoing(Topic.SYNC_RESULTS, Envelope(EventType.SYNC_RESULT_RECORDED, "t1", {}))]

    policy = DeadLetterPolicy(reports=(broken_report, extra_report))
    outgoing = policy.outgoing(
        dead, "group", retry=RetryPolicy(), wait=lambda _: True, rng=random.Random()
    )

    assert [item.topic for item in outgoing] == [Topic.DEAD_LETTERS, Topic.SYNC_RESULTS]
    assert outgoing[0].envelope.payload["original"]["offset"] == 41
