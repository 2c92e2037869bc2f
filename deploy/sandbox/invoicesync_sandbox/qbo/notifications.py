"""Outbound webhooks: QBO event notifications (CloudEvents or legacy), signed intuit-signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC

from .store import EntityChange

CLOUDEVENTS = "cloudevents"
LEGACY = "legacy"
DEFAULT_ENTITIES = ("Invoice", "Payment", "Customer", "CreditMemo", "RefundReceipt", "Item")
_VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Merge": "merged",
}


@dataclass
class WebhookTarget:
    url: str
    verifier_token: str
    # Intuit made CloudEvents mandatory in 2026; the legacy shape stays selectable.
    format: str = CLOUDEVENTS
    entities: tuple[str, ...] = field(default=DEFAULT_ENTITIES)


def signature(verifier_token: str, body: bytes) -> str:
    """`intuit-signature`: base64 of HMAC-SHA256 over the raw body, keyed by the verifier token."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _utc(change: EntityChange) -> str:
    return change.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def legacy_body(realm_id: str, changes: list[EntityChange]) -> dict:
    entities = [
        {"name": c.name, "id": c.entity_id, "operation": c.operation, "lastUpdated": _utc(c)}
        for c in changes
    ]
    return {
        "eventNotifications": [{"realmId": realm_id, "dataChangeEvent": {"entities": entities}}]
    }


def cloudevents_body(realm_id: str, changes: list[EntityChange], source: str) -> list[dict]:
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"qbo.{c.name.lower()}.{_VERBS.get(c.operation, c.operation.lower())}.v1",
            "datacontenttype": "application/json",
            "time": _utc(c),
            "intuitentityid": c.entity_id,
            "intuitaccountid": realm_id,
            "data": {},
        }
        for c in changes
    ]


def notification(
    target: WebhookTarget, realm_id: str, changes: list[EntityChange], source: str
) -> tuple[bytes, dict] | None:
    """The raw body and headers to send for these changes, or None when none is subscribed."""
    wanted = [c for c in changes if c.name in target.entities]
    if not wanted:
        return None
    if target.format == LEGACY:
        payload: object = legacy_body(realm_id, wanted)
    else:
        payload = cloudevents_body(realm_id, wanted, source)
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "intuit-signature": signature(target.verifier_token, body),
        "intuit-t-id": str(uuid.uuid4()),
        "intuit-created-time": _utc(wanted[0]),
        "intuit-notification-schema-version": "0.1",
        "User-Agent": "intuit_notification_server/0.1",
    }
    return body, headers
