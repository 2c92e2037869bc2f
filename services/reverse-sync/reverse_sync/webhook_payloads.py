"""Xero and QBO webhook bodies read into ledger notifications, each with the org/realm it names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from invoicesync.errors import InvalidInput
from invoicesync.events import LedgerNotification, NotificationSource


@dataclass(frozen=True)
class AddressedNotification:
    """A notification and the provider-side id (Xero tenantId, QBO realmId) it arrived for."""

    external_id: str
    notification: LedgerNotification


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class XeroEventSchema(_Lenient):
    resourceId = fields.String(required=True)  # noqa: N815 - Xero's names
    eventCategory = fields.String(required=True)  # noqa: N815
    eventType = fields.String(required=True)  # noqa: N815
    tenantId = fields.String(required=True)  # noqa: N815


class XeroWebhookSchema(_Lenient):
    events = fields.List(fields.Nested(XeroEventSchema), required=True)


class QboEntitySchema(_Lenient):
    name = fields.String(required=True)
    id = fields.String(required=True)
    operation = fields.String(load_default="")


class QboDataChangeSchema(_Lenient):
    entities = fields.List(fields.Nested(QboEntitySchema), load_default=list)


class QboRealmEventsSchema(_Lenient):
    realmId = fields.String(required=True)  # noqa: N815 - Intuit's names
    dataChangeEvent = fields.Nested(QboDataChangeSchema, load_default=dict)  # noqa: N815


class QboLegacyWebhookSchema(_Lenient):
    eventNotifications = fields.List(  # noqa: N815
        fields.Nested(QboRealmEventsSchema), required=True
    )


class QboCloudEventSchema(_Lenient):
    type = fields.String(required=True, validate=validate.Regexp(r"^qbo\.[a-z]+\.[a-z]+\.v\d+$"))
    intuitentityid = fields.String(required=True)
    intuitaccountid = fields.String(required=True)


def xero_notifications(document: Any, observed_at: datetime) -> list[AddressedNotification]:
    """An intent-to-receive check carries no events and yields nothing."""
    body = _load(XeroWebhookSchema(), document, "Xero webhook")
    return [
        AddressedNotification(
            event["tenantId"],
            LedgerNotification(
                destination="xero",
                entity=event["eventCategory"].lower(),
                entity_id=event["resourceId"],
                operation=event["eventType"].lower(),
                source=NotificationSource.HOOK,
                observed_at=observed_at,
            ),
        )
        for event in body["events"]
    ]


def qbo_notifications(document: Any, observed_at: datetime) -> list[AddressedNotification]:
    """CloudEvents (a JSON array) or the legacy `eventNotifications` object."""
    if isinstance(document, list):
        events = _load(QboCloudEventSchema(many=True), document, "QBO CloudEvents webhook")
        return [_from_cloud_event(event, observed_at) for event in events]
    body = _load(QboLegacyWebhookSchema(), document, "QBO webhook")
    return [
        AddressedNotification(
            realm["realmId"],
            _qbo_notification(entity["name"], entity["id"], entity["operation"], observed_at),
        )
        for realm in body["eventNotifications"]
        for entity in realm["dataChangeEvent"].get("entities", [])
    ]


def _from_cloud_event(event: dict, observed_at: datetime) -> AddressedNotification:
    _, entity, verb, _version = event["type"].split(".")
    return AddressedNotification(
        event["intuitaccountid"],
        _qbo_notification(entity, event["intuitentityid"], verb, observed_at),
    )


def _qbo_notification(
    entity: str, entity_id: str, operation: str, observed_at: datetime
) -> LedgerNotification:
    return LedgerNotification(
        destination="qbo",
        entity=entity.lower(),
        entity_id=entity_id,
        operation=operation.lower(),
        source=NotificationSource.HOOK,
        observed_at=observed_at,
    )


def _load(schema: Schema, document: Any, what: str) -> Any:
    try:
        return schema.load(document)
    except ValidationError as exc:
        raise InvalidInput(f"not a {what}: {exc.messages}") from exc
