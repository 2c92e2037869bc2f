"""Keap notifications held while a tenant's processing is off, released once it is on.

Held work is kept, not dropped: one entry per Keap object (the latest notification wins), so
switching processing on republishes each held object once to `keap.notifications`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis

from invoicesync.events import Envelope, EventType, KeapNotification, Topic, envelope_from_bytes
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.stores.redis_connection import reply_bytes, reply_text


def held_key(tenant_id: str) -> str:
    return f"invoicesync:{tenant_id}:transform:held"


@dataclass(frozen=True)
class HeldNotification:
    field: str
    raw: bytes
    envelope: Envelope

    def released(self) -> Outgoing:
        """The same notification as a fresh event, back on the topic transform reads."""
        fresh = Envelope(
            type=EventType.KEAP_CHANGE_NOTIFIED,
            tenant_id=self.envelope.tenant_id,
            payload=self.envelope.payload,
        )
        return Outgoing(Topic.KEAP_NOTIFICATIONS, fresh)


class HeldNotifications:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def hold(self, envelope: Envelope, notification: KeapNotification) -> bool:
        """Keep the notification; True when this object was not held already."""
        field = f"{notification.object_type}:{notification.object_id}"
        return bool(self._redis.hsetnx(held_key(envelope.tenant_id), field, envelope.to_bytes()))

    def hold_all(self, notifications: Sequence[tuple[Envelope, KeapNotification]]) -> list[bool]:
        """Keep each notification, in one round trip; for each, True when its object was not
        held already or was held by this very notification (a run handled again after a
        failure reports its holds again rather than losing them)."""
        pipe = self._redis.pipeline(transaction=False)
        raws = []
        for envelope, notification in notifications:
            field = f"{notification.object_type}:{notification.object_id}"
            raw = envelope.to_bytes()
            raws.append(raw)
            pipe.hsetnx(held_key(envelope.tenant_id), field, raw)
            pipe.hget(held_key(envelope.tenant_id), field)
        replies = pipe.execute()
        return [bool(replies[2 * n]) or replies[2 * n + 1] == raw for n, raw in enumerate(raws)]

    def held(self, tenant_id: str) -> list[HeldNotification]:
        stored = self._redis.hgetall(held_key(tenant_id))
        return [
            HeldNotification(
                reply_text(field), reply_bytes(raw), envelope_from_bytes(reply_bytes(raw))
            )
            for field, raw in sorted(stored.items())
        ]

    def count(self, tenant_id: str) -> int:
        return int(self._redis.hlen(held_key(tenant_id)))

    def forget(self, tenant_id: str, item: HeldNotification) -> None:
        self._redis.hdel(held_key(tenant_id), item.field)


def release_held(client: redis.Redis, publisher: Publisher, tenant_id: str) -> int:
    """Republish everything held for `tenant_id` (call it when processing is switched on).

    Entries are removed only after the broker acknowledged them, so a failure loses nothing.
    """
    store = HeldNotifications(client)
    items = store.held(tenant_id)
    if not items:
        return 0
    publisher.publish_all([item.released() for item in items])
    for item in items:
        store.forget(tenant_id, item)
    return len(items)
