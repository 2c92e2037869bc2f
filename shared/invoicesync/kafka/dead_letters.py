"""Dead letters: the original message with its origin, the error and the attempts; replayable."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from invoicesync.events import Envelope, EventType


@dataclass(frozen=True)
class ConsumedRecord:
    """What the loop read, independent of the Kafka client's record type."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...] = ()


def dead_letter_envelope(
    record: ConsumedRecord,
    *,
    tenant_id: str,
    error: BaseException,
    attempts: int,
    group_id: str,
) -> Envelope:
    payload: dict[str, Any] = {
        "original": {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "timestamp_ms": record.timestamp_ms,
            "key": _text_or_base64(record.key),
            "value": _text_or_base64(record.value),
            "headers": [[name, _text_or_base64(value)] for name, value in record.headers],
        },
        "error": {"type": type(error).__name__, "message": str(error)[:4000]},
        "attempts": attempts,
        "group_id": group_id,
        "failed_at": datetime.now(UTC).isoformat(),
    }
    return Envelope(type=EventType.MESSAGE_DEAD_LETTERED, tenant_id=tenant_id, payload=payload)


def original_message(payload: dict[str, Any]) -> tuple[str, bytes | None, bytes | None]:
    """The (topic, key, value) a dead letter carries, exactly as first published."""
    original = payload["original"]
    return original["topic"], _bytes_of(original["key"]), _bytes_of(original["value"])


def _text_or_base64(raw: bytes | None) -> dict[str, str] | None:
    if raw is None:
        return None
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode()}


def _bytes_of(encoded: dict[str, str] | None) -> bytes | None:
    if encoded is None:
        return None
    if "text" in encoded:
        return encoded["text"].encode("utf-8")
    return base64.b64decode(encoded["base64"])
