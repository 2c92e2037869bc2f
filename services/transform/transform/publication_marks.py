"""Redis writes that must follow a successful publish: last-published hashes, released holds.

The handler cannot write them itself, because the loop publishes only after the handler has
returned: a write made first would claim an event that a crash could still lose. So the
handler registers each write against the event it depends on, and the loop's after-publish
step applies it once the broker has acknowledged that event. A crash in between only means the
event is published again on the next read, which every consumer tolerates.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from invoicesync.events import Envelope
from invoicesync.stores.redis_connection import reply_text

# Writes for events that were never published (the run failed and was retried with new event
# ids) are simply forgotten once this many are waiting.
MAX_PENDING = 10_000


def hash_key(tenant_id: str, kind: str, keap_id: str) -> str:
    """The content hash (or skip marker) last published for one Keap invoice or payment."""
    return f"invoicesync:{tenant_id}:transform:hash:{kind}:{keap_id}"


@dataclass(frozen=True)
class _SetValue:
    key: str
    value: str


@dataclass(frozen=True)
class _DeleteField:
    key: str
    field: str
    value: bytes


class PublicationMarks:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._pending: OrderedDict[str, list[_SetValue | _DeleteField]] = OrderedDict()
        self._lock = threading.Lock()  # handlers on worker threads add, the loop applies

    def last_published(self, tenant_id: str, kind: str, keap_id: str) -> str | None:
        value = self._redis.get(hash_key(tenant_id, kind, keap_id))
        return reply_text(value) if value is not None else None

    def set_after(self, envelope: Envelope, key: str, value: str) -> None:
        self._add(envelope, _SetValue(key, value))

    def delete_field_after(self, envelope: Envelope, key: str, field: str, value: bytes) -> None:
        """Delete a hash field once `envelope` is out, unless it was rewritten meanwhile."""
        self._add(envelope, _DeleteField(key, field, value))

    def apply(self, published: Iterable[Envelope]) -> None:
        """The broker acknowledged these envelopes: make their writes."""
        with self._lock:
            writes = [w for e in published for w in self._pending.pop(e.event_id, ())]
        if not writes:
            return
        pipe = self._redis.pipeline(transaction=False)
        for write in writes:
            if isinstance(write, _SetValue):
                pipe.set(write.key, write.value)
            else:
                pipe.eval(_DELETE_IF_UNCHANGED, 1, write.key, write.field, write.value)
        pipe.execute()

    def _add(self, envelope: Envelope, write: _SetValue | _DeleteField) -> None:
        with self._lock:
            self._pending.setdefault(envelope.event_id, []).append(write)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)


_DELETE_IF_UNCHANGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""
