"""Keap REST hook deliveries: the body's schema, one notification per id, de-duplication."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from redis.client import Pipeline

from invoicesync.events import (
    Envelope,
    EventType,
    KeapNotification,
    NotificationSource,
    envelope_for,
)

MAX_OBJECT_KEYS = 1000
# Keap's ids are int64 (reference/keap.md §2.4 "the id is numeric"; specs/keap/keap_rest_v2.yml
# types ids `integer`/`int64`): anything longer could never be read back, only dead-lettered.
MAX_KEAP_ID = 2**63 - 1


class KeapObjectId(fields.Field):
    """A positive int64, as a JSON number or a string of digits; nothing else."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError("must be a whole number")
        text = str(value).strip()
        if not text.isascii() or not text.isdigit():
            raise ValidationError("must be a whole number (digits only)")
        if len(text) > len(str(MAX_KEAP_ID)) or int(text) > MAX_KEAP_ID:
            raise ValidationError(f"too long: Keap ids are at most {MAX_KEAP_ID}")
        if int(text) < 1:
            raise ValidationError("must be at least 1")
        return int(text)


class ObjectKeySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = KeapObjectId(required=True)
    apiUrl = fields.String(load_default="", allow_none=True)  # noqa: N815 - Keap's name
    timestamp = fields.String(load_default="", allow_none=True, validate=validate.Length(max=64))


class HookDeliverySchema(Schema):
    """Keap's documented delivery body; ids only, never trusted data (transform re-reads)."""

    class Meta:
        unknown = EXCLUDE

    event_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    object_type = fields.String(load_default="")
    object_keys = fields.List(
        fields.Nested(ObjectKeySchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_OBJECT_KEYS),
    )


def object_type_for(event_key: str) -> str | None:
    """What the hook's ids are: order ids for order.*, invoice ids for invoice.*, and for
    invoice.payment.* a payment or v1 transaction id (undocumented; the Keap client resolves
    both). None for keys the sync does not follow (products, contacts...)."""
    if event_key.startswith("invoice.payment."):
        return "payment"
    if event_key.startswith("invoice."):
        return "invoice"
    if event_key.startswith("order."):
        return "order"
    return None


@dataclass(frozen=True)
class HookNotice:
    """One id of a delivery, with the key that says whether it was seen before."""

    seen_key: str
    envelope: Envelope


def first_error_field(messages: Any, prefix: str = "") -> str:
    """`object_keys.3.id` for marshmallow's nested {"object_keys": {3: {"id": [...]}}}."""
    if not isinstance(messages, dict) or not messages:
        return prefix or "body"
    name, inner = next(iter(messages.items()))
    return first_error_field(inner, f"{prefix}.{name}" if prefix else str(name))


def notices_for(tenant_id: str, delivery: dict[str, Any]) -> list[HookNotice]:
    object_type = object_type_for(delivery["event_key"])
    if object_type is None:
        return []
    observed_at = datetime.now(UTC)
    notices: dict[str, HookNotice] = {}
    for object_key in delivery["object_keys"]:
        object_id = str(object_key["id"])
        # Not the caller's timestamp: a flood that changes it must not defeat de-duplication.
        identity = f"{delivery['event_key']}|{object_id}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        seen_key = f"invoicesync:tenant:{tenant_id}:hook-seen:{digest}"
        notification = KeapNotification(
            object_type=object_type,
            object_id=object_id,
            source=NotificationSource.HOOK,
            observed_at=observed_at,
            event_key=delivery["event_key"],
        )
        envelope = envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant_id, notification)
        notices.setdefault(seen_key, HookNotice(seen_key, envelope))
    return list(notices.values())


def unseen(client: redis.Redis, notices: list[HookNotice]) -> list[HookNotice]:
    if not notices:
        return []
    flags = client.mget([notice.seen_key for notice in notices])
    return [notice for notice, flag in zip(notices, flags, strict=True) if flag is None]


def queue_token_owner_and_seen(pipe: Pipeline, token_key: str, notices: list[HookNotice]) -> None:
    """The tenant a hook token belongs to and the notices' seen flags, on a pipeline (the hook
    receiver runs it with the tenant's share: one round trip); read with the function below."""
    pipe.get(token_key)
    if notices:
        pipe.mget([notice.seen_key for notice in notices])


def read_token_owner_and_unseen(
    replies: list, notices: list[HookNotice]
) -> tuple[str | None, list[HookNotice]]:
    owner = replies[0].decode() if isinstance(replies[0], bytes) else replies[0]
    flags = replies[1] if notices else []
    return owner, [notice for notice, flag in zip(notices, flags, strict=True) if flag is None]


def mark_seen(client: redis.Redis, notices: list[HookNotice], window_seconds: int) -> None:
    """Only after Kafka acknowledged: a failed publish must leave Keap's retry unseen."""
    pipe = client.pipeline(transaction=False)
    for notice in notices:
        pipe.set(notice.seen_key, "1", ex=window_seconds)
    pipe.execute()
