"""The `sync.results` consumer of the notifications: each result joins its tenant's outbox."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import redis

from invoicesync.events import Envelope, EventType, Topic, payload_of
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.periodic_tasks import PeriodicTask
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.settings import Settings
from invoicesync.stores.notification_outbox import NotificationOutbox

GROUP_ID = "invoicesync-notifications"


class OutboxAppender:
    def __init__(
        self, outbox: NotificationOutbox, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._outbox = outbox
        self._clock = clock

    def handle(self, envelope: Envelope) -> list[Outgoing]:
        if envelope.type is not EventType.SYNC_RESULT_RECORDED:
            return []
        result = payload_of(envelope)
        self._outbox.append(envelope.tenant_id, envelope.event_id, result, self._clock())
        return []


def build_consumer_loop(
    settings: Settings,
    client: redis.Redis,
    *,
    group_id: str = GROUP_ID,
    periodic: Sequence[PeriodicTask] = (),
) -> ConsumerLoop:
    """The outbox consumer, wired to real Kafka and Redis; nothing connects yet."""
    options = LoopOptions.for_service(settings, group_id, (Topic.SYNC_RESULTS,))
    appender = OutboxAppender(NotificationOutbox(client))
    return ConsumerLoop(
        settings,
        options,
        one_at_a_time(appender.handle),
        Publisher(settings),
        periodic=periodic,
    )
