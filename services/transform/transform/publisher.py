"""Transform's publisher: after each acknowledged publish it makes the writes waiting on it,
and a dead-lettered notification is also reported as a failed sync result."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from invoicesync.errors import InvalidInput
from invoicesync.events import (
    EventType,
    KeapNotification,
    SyncAction,
    SyncResult,
    Topic,
    envelope_for,
    envelope_from_bytes,
    payload_of,
)
from invoicesync.kafka.dead_letters import original_message
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.settings import Settings
from transform.publication_marks import PublicationMarks

log = logging.getLogger(__name__)


class TransformPublisher(Publisher):
    def __init__(
        self,
        settings: Settings,
        marks: PublicationMarks,
        destination_for: Callable[[str], str],
        **kwargs,
    ) -> None:
        super().__init__(settings, **kwargs)
        self._marks = marks
        self._destination_for = destination_for

    def publish_all(self, outgoing: Sequence[Outgoing]) -> None:
        failures = [r for item in outgoing if (r := self._failure_for(item)) is not None]
        super().publish_all([*outgoing, *failures])
        self._marks.apply(item.envelope for item in outgoing)

    def _failure_for(self, item: Outgoing) -> Outgoing | None:
        """A dead letter of a notification: the activity log must show the object failed."""
        if item.envelope.type is not EventType.MESSAGE_DEAD_LETTERED:
            return None
        try:
            _, _, value = original_message(item.envelope.payload)
            original = envelope_from_bytes(value)
            notification: KeapNotification = payload_of(original)
        except (InvalidInput, KeyError, ValueError):
            return None  # not a readable notification: the dead letter alone records it
        result = SyncResult(
            destination=self._destination_for(original.tenant_id),
            object_type=notification.object_type,
            keap_id=notification.object_id,
            action=SyncAction.FAILED,
            recorded_at=datetime.now(UTC),
            reason=str(item.envelope.payload.get("error", {}).get("message", ""))[:500],
        )
        envelope = envelope_for(EventType.SYNC_RESULT_RECORDED, original.tenant_id, result)
        return Outgoing(Topic.SYNC_RESULTS, envelope)
