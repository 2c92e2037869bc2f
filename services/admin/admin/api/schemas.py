"""Request and response schemas of the admin API; the OpenAPI document is generated from them."""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from invoicesync.domain.canonical import Destination
from invoicesync.events import SyncAction, Topic
from invoicesync.tenant_settings_schema import StartPointSchema, TenantSettingsSchema

REPLAYABLE_TOPICS = [topic.value for topic in Topic if topic is not Topic.DEAD_LETTERS]
_ID = validate.Length(min=1, max=64)


class _Input(Schema):
    class Meta:
        unknown = RAISE


def _printable_name(name: str) -> None:
    # The name goes into email subjects and headers: a line break there would start a header
    # of its own (or stall the message), and other control characters have no place in it.
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        raise ValidationError("line breaks and control characters are not allowed")
    if not name.strip():
        raise ValidationError("must not be blank")


def _printable_name_or_empty(name: str) -> None:
    if name:
        _printable_name(name)


class TenantCreateSchema(_Input):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), _printable_name])
    destination = fields.Enum(Destination, by_value=True, required=True)


class ApiKeyCreateSchema(_Input):
    label = fields.String(
        load_default="", validate=[validate.Length(max=200), _printable_name_or_empty]
    )


class ApiKeySchema(Schema):
    key_id = fields.String()
    role = fields.String()
    tenant_id = fields.String(allow_none=True)
    label = fields.String()
    created_at = fields.String()
    api_key = fields.String(metadata={"description": "the whole key; only when it is made"})


class ApiKeyListSchema(Schema):
    api_keys = fields.List(fields.Nested(ApiKeySchema))


class HookUrlSchema(Schema):
    tenant_id = fields.String()
    hook_url = fields.String()


class TenantSchema(Schema):
    id = fields.String()
    name = fields.String()
    destination = fields.String()
    created_at = fields.String()
    hook_url = fields.String()
    settings_saved = fields.Boolean()
    api_key = fields.String(metadata={"description": "shown once, when the tenant is created"})


class ProcessingSchema(_Input):
    enabled = fields.Boolean(required=True)


class SyncRequestSchema(_Input):
    invoice_id = fields.String(
        required=True, validate=validate.Regexp(r"^[0-9]{1,19}$", error="a Keap invoice id")
    )


class PreviewRequestSchema(_Input):
    """One Keap invoice, or the next N a sync would write; `settings` tries unsaved settings."""

    invoice_id = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[0-9]{1,19}$", error="a Keap invoice id"),
    )
    next = fields.Integer(load_default=None, validate=validate.Range(min=1, max=50))
    settings = fields.Nested(
        TenantSettingsSchema,
        load_default=None,
        metadata={"description": "settings to try instead of the saved ones; nothing is saved"},
    )

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("invoice_id") is None) == (data.get("next") is None):
            raise ValidationError("give invoice_id or next, not both", "invoice_id")


class PreviewAnswerSchema(Schema):
    previews = fields.List(
        fields.Dict(),
        metadata={
            "description": "per invoice: action, contact, dates, status, lines, payments, "
            "rules and the ledger document exactly as the writer would send it"
        },
    )
    written = fields.Boolean(metadata={"description": "always false"})


class SyncAcceptedSchema(Schema):
    notification_id = fields.String()
    invoice_id = fields.String()


class RetryFailedSchema(Schema):
    requested = fields.Integer(
        metadata={"description": "invoices, payments and orders sent through the sync again"}
    )


class BackfillRequestSchema(_Input):
    start = fields.Nested(
        StartPointSchema,
        load_default=None,
        metadata={"description": "defaults to the start point in the tenant's settings"},
    )


class BackfillJobSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    status = fields.String()
    start = fields.Dict()
    pages_done = fields.Integer()
    published = fields.Integer()
    estimated_total = fields.Integer(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()
    error = fields.String()


class ActivityQuerySchema(_Input):
    outcome = fields.Enum(SyncAction, by_value=True, load_default=None)
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    q = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "an invoice number or Keap id"},
    )
    contains = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "any part of an invoice number, Keap id, ledger id or reason"},
    )
    since = fields.AwareDateTime(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ActivityEntrySchema(Schema):
    id = fields.String()
    recorded_at = fields.String()
    outcome = fields.String()
    object_type = fields.String()
    keap_id = fields.String()
    invoice_number = fields.String(allow_none=True)
    destination = fields.String()
    destination_id = fields.String(allow_none=True)
    reason = fields.String()


class ActivityPageSchema(Schema):
    entries = fields.List(fields.Nested(ActivityEntrySchema))
    next_cursor = fields.String(allow_none=True)
    hourly = fields.Dict()


class ReplayRequestSchema(_Input):
    topic = fields.String(required=True, validate=validate.OneOf(REPLAYABLE_TOPICS))
    tenant = fields.String(required=True, validate=_ID)
    from_time = fields.AwareDateTime(required=True)


class ReplayedSchema(Schema):
    replayed = fields.Integer()


class _DeadLetterRange(_Input):
    """Which dead letters: a tenant's, a consumer group's, dead-lettered in [since, until)."""

    tenant = fields.String(load_default=None, validate=_ID)
    group = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the consumer group that gave up, e.g. invoicesync-transform"},
    )
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)

    @validates_schema
    def _range_runs_forward(self, data: dict[str, Any], **_: Any) -> None:
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and until <= since:
            raise ValidationError("must be later than since", "until")


class DeadLetterQuerySchema(_DeadLetterRange):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    before = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0),
        metadata={"description": "the previous page's next_before: older letters only"},
    )


class DeadLetterBulkReplaySchema(_DeadLetterRange):
    pass


class DeadLetterBulkReplayedSchema(Schema):
    matched = fields.Integer()
    replayed = fields.Integer()
    already_replayed = fields.Integer()


class DeadLetterSchema(Schema):
    offset = fields.Integer()
    tenant_id = fields.String()
    original_topic = fields.String()
    original_partition = fields.Integer()
    original_offset = fields.Integer()
    error_type = fields.String()
    error_message = fields.String()
    attempts = fields.Integer()
    group_id = fields.String()
    failed_at = fields.String()
    replayed = fields.Boolean()


class DeadLetterListSchema(Schema):
    dead_letters = fields.List(fields.Nested(DeadLetterSchema))
    next_before = fields.Integer(
        allow_none=True, metadata={"description": "pass as `before` for older letters"}
    )


class DeadLetterReplaySchema(_Input):
    offset = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class DeadLetterReplayedSchema(Schema):
    offset = fields.Integer()
    replayed = fields.Boolean(metadata={"description": "false: it had been replayed before"})


class OAuthCallbackQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # providers add parameters of their own

    code = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    state = fields.String(required=True, validate=validate.Length(min=1, max=128))
    realmId = fields.String(load_default=None, validate=validate.Length(max=64))  # noqa: N815
    scope = fields.String(load_default=None, validate=validate.Length(max=500))


class ChooseOrganisationSchema(Schema):
    # Needed only when the consent connected several organisations.
    organisation_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    # Operators only: bind an organisation another tenant already has.
    confirm = fields.Boolean(load_default=False)


class OrganisationSchema(Schema):
    organisation_id = fields.String()
    name = fields.String()


class OrganisationChoiceSchema(Schema):
    """The callback's answer: what the consent connected and the tenant it would be bound to;
    nothing is bound until the key that started connecting confirms."""

    tenant_id = fields.String()
    tenant_name = fields.String()
    provider = fields.String()
    status = fields.String(metadata={"enum": ["confirm", "choose_organisation"]})
    organisations = fields.List(fields.Nested(OrganisationSchema))
    confirm = fields.String(
        metadata={"description": "POST here (organisation_id when several) to bind it"}
    )
    choose = fields.String(metadata={"description": "the same as confirm"})


class ConnectionSchema(Schema):
    tenant_id = fields.String()
    provider = fields.String()
    status = fields.String()
    external_id = fields.String()
    external_name = fields.String()


class PausedWorkSchema(Schema):
    group = fields.String(metadata={"description": "the consumer that paused the work"})
    since = fields.String()
    retry_at = fields.String()
    reason = fields.String()
    waiting = fields.Integer()
    failures = fields.Integer()


class StatusSchema(Schema):
    tenant_id = fields.String()
    processing_enabled = fields.Boolean()
    connections = fields.Dict()
    # Per provider: state (healthy, at_risk, alert, lost, not_connected), next_risk, risks.
    connection_health = fields.Dict()
    last_poll = fields.String(allow_none=True)
    consumer_lag = fields.Dict(allow_none=True)
    redis_memory = fields.Dict(
        allow_none=True,
        metadata={
            "description": "used_bytes, max_bytes, policy, and near_limit (used past the "
            "warning share of maxmemory, or no limit set); null while Redis cannot say"
        },
    )
    counts = fields.Dict()
    backfill = fields.String(allow_none=True)
    ledger_poll = fields.Dict(
        allow_none=True,
        metadata={
            "description": "ReverseSync's payment poll: interval_seconds, "
            "scheduled_calls_per_day, calls_today, and for Xero daily_limit and "
            "calls_last_24_hours (every InvoiceSync call to the organisation); null when "
            "ReverseSync is off"
        },
    )
    paused = fields.List(
        fields.Nested(PausedWorkSchema),
        metadata={"description": "work waiting for an unavailable provider or broker"},
    )


class ErrorDetailSchema(Schema):
    status = fields.Integer()
    message = fields.String()
    field = fields.String()
    field_errors = fields.Dict(data_key="fields")


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema)


class SettingsDocumentSchema(TenantSettingsSchema):
    """The settings resource: the tenant's settings and whether they were ever saved. `saved`
    is read-only and ignored on PUT, so a document read with GET can be edited and put back."""

    saved = fields.Boolean(dump_only=True)

    @pre_load
    def _ignore_read_only(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key != "saved"}
        return data


class ReconciliationRequestSchema(_Input):
    first = fields.Date(required=True, data_key="from", metadata={"description": "YYYY-MM-DD"})
    last = fields.Date(required=True, data_key="to", metadata={"description": "YYYY-MM-DD"})


class ReconciliationJobSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    period = fields.Dict(keys=fields.String(), values=fields.String())
    status = fields.String(metadata={"description": "running, done or failed"})
    phase = fields.String(metadata={"description": "keap, ledger, confirm or done"})
    orders_read = fields.Integer()
    ledger_invoices_read = fields.Integer()
    api_calls = fields.Dict(keys=fields.String(), values=fields.Integer())
    error = fields.String()
    all_matched = fields.Boolean(metadata={"description": "once done"})
    rows = fields.List(fields.Dict(), metadata={"description": "once done: one per object"})
    totals = fields.List(fields.Dict(), metadata={"description": "per group and currency"})


class ResyncedSchema(Schema):
    orders = fields.List(fields.String(), metadata={"description": "Keap orders driven again"})
    reissued = fields.List(
        fields.String(),
        metadata={
            "description": "Keap invoices whose ledger invoice was voided: written anew under "
            "their number with a reissue suffix (-2, -3...)"
        },
    )
    voided = fields.List(
        fields.String(),
        metadata={"description": "ledger invoices of deleted Keap orders, to be voided"},
    )
    recorded_in_keap = fields.List(
        fields.String(),
        metadata={"description": "ledger payments Keap lacks, to be recorded in Keap"},
    )
