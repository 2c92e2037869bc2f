"""The wire contract between services: topics, the event envelope, one schema per event.

Every message is JSON: an envelope carrying `type`, `version`, `tenant_id` and a `payload`
whose schema the type names. Consumers ignore fields they do not know.
"""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Contact,
    Line,
    LineKind,
    PaymentKind,
    PaymentPlan,
    Totals,
)
from invoicesync.errors import InvalidInput

ENVELOPE_VERSION = 1


class Topic(enum.StrEnum):
    KEAP_NOTIFICATIONS = "keap.notifications"
    CANONICAL_EVENTS = "canonical.events"
    SYNC_RESULTS = "sync.results"
    DEAD_LETTERS = "sync.dlq"
    ID_MAP_LEDGER = "idmap.ledger"
    LEDGER_NOTIFICATIONS = "ledger.notifications"


class EventType(enum.StrEnum):
    KEAP_CHANGE_NOTIFIED = "KeapChangeNotified"
    INVOICE_CANONICALISED = "InvoiceCanonicalised"
    PAYMENT_CANONICALISED = "PaymentCanonicalised"
    SYNC_RESULT_RECORDED = "SyncResultRecorded"
    MESSAGE_DEAD_LETTERED = "MessageDeadLettered"
    ID_MAPPED = "IdMapped"
    LEDGER_CHANGE_NOTIFIED = "LedgerChangeNotified"
    LEDGER_INVOICE_VOID_REQUESTED = "LedgerInvoiceVoidRequested"
    LEDGER_PAYMENT_RECORD_REQUESTED = "LedgerPaymentRecordRequested"


class NotificationSource(enum.StrEnum):
    HOOK = "hook"
    POLL = "poll"
    MANUAL = "manual"
    BACKFILL = "backfill"
    REPLAY = "replay"


class SyncAction(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"
    HELD = "held"


@dataclass(frozen=True)
class Envelope:
    type: EventType
    tenant_id: str
    payload: dict[str, Any]
    version: int = ENVELOPE_VERSION
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_bytes(self) -> bytes:
        """What EnvelopeSchema dumps, written out by hand: on the hook receiver's hot path the
        schema's field-by-field dump cost more than the JSON itself."""
        document = {
            "type": self.type.value,
            "version": self.version,
            "tenant_id": self.tenant_id,
            "event_id": self.event_id,
            "occurred_at": self.occurred_at.isoformat(),
            "payload": self.payload,
        }
        return json.dumps(document, separators=(",", ":")).encode()

    @property
    def key(self) -> bytes:
        """Every topic is keyed by tenant so a tenant's events stay in order."""
        return self.tenant_id.encode()


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    type = fields.Enum(EventType, by_value=True, required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    tenant_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    event_id = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    payload = fields.Dict(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Envelope:
        return Envelope(**data)


# Built once: building a schema copies every field, a good part of a small message's cost.
# Loading and dumping keep no state on the instance, so threads share them.
_ENVELOPE_SCHEMA = EnvelopeSchema()


def envelope_from_bytes(raw: bytes | None) -> Envelope:
    """Decode a message; anything unreadable is InvalidInput (it goes to the dead letters)."""
    if raw is None:
        raise InvalidInput("empty message")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"not JSON: {exc}") from exc
    try:
        return _ENVELOPE_SCHEMA.load(document)
    except ValidationError as exc:
        raise InvalidInput(f"bad envelope: {exc.messages}") from exc


def _money() -> fields.Decimal:
    return fields.Decimal(required=True, as_string=True, allow_nan=False)


class _PayloadSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class KeapNotificationSchema(_PayloadSchema):
    object_type = fields.String(
        required=True, validate=validate.OneOf(["order", "invoice", "payment"])
    )
    object_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    event_key = fields.String(load_default="")
    source = fields.Enum(NotificationSource, by_value=True, required=True)
    observed_at = fields.AwareDateTime(required=True, default_timezone=UTC)


@dataclass(frozen=True)
class KeapNotification:
    object_type: str
    object_id: str
    source: NotificationSource
    observed_at: datetime
    event_key: str = ""


class LedgerNotificationSchema(_PayloadSchema):
    """A change Xero or QBO told us about (or a poll found): ids only, re-read before use."""

    destination = fields.String(required=True, validate=validate.OneOf(["xero", "qbo"]))
    entity = fields.String(required=True, validate=validate.Length(min=1, max=40))
    entity_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    operation = fields.String(load_default="")
    source = fields.Enum(NotificationSource, by_value=True, required=True)
    observed_at = fields.AwareDateTime(required=True, default_timezone=UTC)


@dataclass(frozen=True)
class LedgerNotification:
    destination: str
    entity: str  # the ledger's own lower-case entity name: invoice, payment, ...
    entity_id: str
    source: NotificationSource
    observed_at: datetime
    operation: str = ""


class LedgerPaymentRecordRequestSchema(_PayloadSchema):
    """A bookkeeper asks for one ledger payment to be recorded in Keap now (reverse-sync reads
    it from the ledger and records it as its poll would, even with ReverseSync off)."""

    destination = fields.String(required=True, validate=validate.OneOf(["xero", "qbo"]))
    payment_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    # The invoice it pays, when known: a QBO payment may pay several.
    invoice_id = fields.String(load_default="", validate=validate.Length(max=64))
    requested_by = fields.String(load_default="", validate=validate.Length(max=200))
    why = fields.String(load_default="", validate=validate.Length(max=500))
    requested_at = fields.AwareDateTime(required=True, default_timezone=UTC)


@dataclass(frozen=True)
class LedgerPaymentRecordRequest:
    destination: str
    payment_id: str
    requested_at: datetime
    invoice_id: str = ""
    requested_by: str = ""
    why: str = ""


class ContactSchema(_PayloadSchema):
    keap_id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True, load_default=None)
    company = fields.String(allow_none=True, load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Contact:
        return Contact(**data)


class LineSchema(_PayloadSchema):
    kind = fields.Enum(LineKind, by_value=True, required=True)
    description = fields.String(required=True)
    quantity = _money()
    unit_amount = _money()
    line_amount = _money()
    taxable = fields.Boolean(load_default=False)
    sku = fields.String(allow_none=True, load_default=None)
    keap_product_id = fields.String(allow_none=True, load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Line:
        return Line(**data)


class TotalsSchema(_PayloadSchema):
    subtotal = _money()
    tax = _money()
    total = _money()
    paid = _money()
    due = _money()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Totals:
        return Totals(**data)


class PaymentPlanSchema(_PayloadSchema):
    final_payment_date = fields.Date(required=True)
    installments = fields.Integer(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> PaymentPlan:
        return PaymentPlan(**data)


class CanonicalInvoiceSchema(_PayloadSchema):
    tenant_id = fields.String(required=True)
    keap_invoice_id = fields.String(required=True)
    keap_order_id = fields.String(required=True)
    invoice_number = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    invoice_date = fields.Date(required=True)
    due_date = fields.Date(required=True)
    lines = fields.List(fields.Nested(LineSchema), required=True)
    totals = fields.Nested(TotalsSchema, required=True)
    paid_at_creation = fields.Boolean(load_default=False)
    payment_plan = fields.Nested(PaymentPlanSchema, allow_none=True, load_default=None)
    tax_inclusive = fields.Boolean(load_default=False)
    content_hash = fields.String(required=True)
    keap_modified_at = fields.AwareDateTime(
        allow_none=True, load_default=None, default_timezone=UTC
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> CanonicalInvoice:
        data["lines"] = tuple(data["lines"])
        return CanonicalInvoice(**data)


class CanonicalPaymentSchema(_PayloadSchema):
    tenant_id = fields.String(required=True)
    keap_payment_id = fields.String(required=True)
    keap_invoice_id = fields.String(required=True)
    amount = _money()
    payment_date = fields.Date(required=True)
    method = fields.String(required=True)
    kind = fields.Enum(PaymentKind, by_value=True, load_default=PaymentKind.PAYMENT)
    currency = fields.String(load_default="USD")
    content_hash = fields.String(required=True)
    invoice_number = fields.String(load_default="")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> CanonicalPayment:
        return CanonicalPayment(**data)


class LedgerInvoiceVoidSchema(_PayloadSchema):
    """A reconciliation's re-sync: the ledger invoice of a Keap order since deleted is voided
    (a writer re-reads it and acts only on an unpaid invoice carrying that order's marker)."""

    destination = fields.String(required=True, validate=validate.OneOf(["xero", "qbo"]))
    ledger_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    keap_order_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    keap_invoice_id = fields.String(load_default="")
    invoice_number = fields.String(load_default="")
    reason = fields.String(load_default="")


@dataclass(frozen=True)
class LedgerInvoiceVoid:
    destination: str
    ledger_id: str
    keap_order_id: str
    keap_invoice_id: str = ""
    invoice_number: str = ""
    reason: str = ""


class SyncResultSchema(_PayloadSchema):
    destination = fields.String(required=True)
    object_type = fields.String(required=True)
    keap_id = fields.String(required=True)
    invoice_number = fields.String(allow_none=True, load_default=None)
    action = fields.Enum(SyncAction, by_value=True, required=True)
    reason = fields.String(load_default="")
    destination_id = fields.String(allow_none=True, load_default=None)
    recorded_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    # Machine-readable why (a SkipReason value for skips); blank on results recorded before it.
    reason_code = fields.String(load_default="")


@dataclass(frozen=True)
class SyncResult:
    destination: str
    object_type: str
    keap_id: str
    action: SyncAction
    recorded_at: datetime
    reason: str = ""
    destination_id: str | None = None
    invoice_number: str | None = None
    reason_code: str = ""


_PAYLOAD_SCHEMAS: dict[EventType, type[Schema]] = {
    EventType.KEAP_CHANGE_NOTIFIED: KeapNotificationSchema,
    EventType.INVOICE_CANONICALISED: CanonicalInvoiceSchema,
    EventType.PAYMENT_CANONICALISED: CanonicalPaymentSchema,
    EventType.SYNC_RESULT_RECORDED: SyncResultSchema,
    EventType.LEDGER_CHANGE_NOTIFIED: LedgerNotificationSchema,
    EventType.LEDGER_INVOICE_VOID_REQUESTED: LedgerInvoiceVoidSchema,
    EventType.LEDGER_PAYMENT_RECORD_REQUESTED: LedgerPaymentRecordRequestSchema,
}


_PAYLOAD_SCHEMA_INSTANCES: dict[EventType, Schema] = {
    event_type: schema_class() for event_type, schema_class in _PAYLOAD_SCHEMAS.items()
}


def payload_of(envelope: Envelope) -> Any:
    """The typed payload of an envelope (a dataclass), or InvalidInput if it does not conform."""
    schema = _PAYLOAD_SCHEMA_INSTANCES.get(envelope.type)
    if schema is None:
        raise InvalidInput(f"no payload schema for {envelope.type}")
    try:
        loaded = schema.load(envelope.payload)
    except ValidationError as exc:
        raise InvalidInput(f"bad {envelope.type} payload: {exc.messages}") from exc
    if isinstance(loaded, dict):
        return _DATACLASS_FOR[envelope.type](**loaded)
    return loaded


_DATACLASS_FOR: dict[EventType, type] = {
    EventType.KEAP_CHANGE_NOTIFIED: KeapNotification,
    EventType.SYNC_RESULT_RECORDED: SyncResult,
    EventType.LEDGER_CHANGE_NOTIFIED: LedgerNotification,
    EventType.LEDGER_INVOICE_VOID_REQUESTED: LedgerInvoiceVoid,
    EventType.LEDGER_PAYMENT_RECORD_REQUESTED: LedgerPaymentRecordRequest,
}


def envelope_for(event_type: EventType, tenant_id: str, payload: Any) -> Envelope:
    """Wrap a typed payload (dataclass) in an envelope, serialising it with its schema."""
    schema = _PAYLOAD_SCHEMA_INSTANCES[event_type]
    return Envelope(type=event_type, tenant_id=tenant_id, payload=schema.dump(payload))
