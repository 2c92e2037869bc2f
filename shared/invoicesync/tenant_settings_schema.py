"""The marshmallow schema of a tenant's settings (design.md §1): JSON in, TenantSettings out."""

from __future__ import annotations

from dataclasses import MISSING
from dataclasses import fields as dataclass_fields
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_numbers import invoice_number_prefix_problem
from invoicesync.domain.tenant_settings import (
    EmailMode,
    FinanceChargeHandling,
    KeapSettings,
    QboSettings,
    StartPoint,
    StartPointKind,
    SyncSettings,
    TaxHandling,
    TenantSettings,
    XeroInvoiceStatus,
    XeroSettings,
)

_ACCOUNT_CODE = validate.Length(max=10)
_QBO_ID = validate.Length(max=40)


def _default(dataclass_type: type, name: str) -> Any:
    """The dataclass's own default, so a field left out means what the model says it means."""
    for spec in dataclass_fields(dataclass_type):
        if spec.name == name:
            if spec.default is not MISSING:
                return spec.default
            if callable(spec.default_factory):  # else it is MISSING: the field has no default
                return spec.default_factory()
            raise TypeError(f"{dataclass_type.__name__}.{name} has no default")
    raise KeyError(name)


class _SectionSchema(Schema):
    class Meta:
        unknown = RAISE

    model: type = object

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Any:
        return self.model(**data)


def _string(model: type, name: str, *validators: Any) -> fields.String:
    return fields.String(load_default=_default(model, name), validate=list(validators) or None)


def _blank_or_email(value: str) -> None:
    """Blank means no emails; anything else must be an address."""
    if value:
        validate.Email(error="not an email address")(value)


def _fits_ledger_number_fields(value: str) -> None:
    """Prefix + Keap id must fit QBO's 21-character DocNumber and Xero's printable-ASCII
    InvoiceNumber, and stay quotable in both providers' filters."""
    problem = invoice_number_prefix_problem(value)
    if problem:
        raise ValidationError(problem)


def _boolean(model: type, name: str) -> fields.Boolean:
    return fields.Boolean(load_default=_default(model, name))


class KeapSettingsSchema(_SectionSchema):
    model = KeapSettings
    currency = fields.String(
        load_default="USD", validate=validate.Regexp(r"^[A-Z]{3}$", error="a 3-letter ISO code")
    )
    tax_handling = fields.Enum(TaxHandling, by_value=True, load_default=TaxHandling.EXCLUSIVE)
    finance_charges = fields.Enum(
        FinanceChargeHandling, by_value=True, load_default=FinanceChargeHandling.AS_LINE
    )
    manual_payment_type = _string(KeapSettings, "manual_payment_type", validate.Length(1, 100))
    timezone = _string(KeapSettings, "timezone", validate.Length(1, 64))

    @validates_schema
    def _known_timezone(self, data: dict[str, Any], **_: Any) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(data.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError("not an IANA time zone", field_name="timezone") from exc


class XeroSettingsSchema(_SectionSchema):
    model = XeroSettings
    default_account_code = _string(XeroSettings, "default_account_code", validate.Length(1, 10))
    discount_account_code = _string(XeroSettings, "discount_account_code", _ACCOUNT_CODE)
    finance_charge_account_code = _string(
        XeroSettings, "finance_charge_account_code", _ACCOUNT_CODE
    )
    shipping_account_code = _string(XeroSettings, "shipping_account_code", _ACCOUNT_CODE)
    taxable_tax_type = _string(XeroSettings, "taxable_tax_type", validate.Length(1, 40))
    zero_tax_type = _string(XeroSettings, "zero_tax_type", validate.Length(1, 40))
    invoice_status = fields.Enum(
        XeroInvoiceStatus, by_value=True, load_default=XeroInvoiceStatus.AUTHORISED
    )
    payment_account_code = _string(XeroSettings, "payment_account_code", _ACCOUNT_CODE)
    sku_matching = _boolean(XeroSettings, "sku_matching")
    sku_sets_item_code = _boolean(XeroSettings, "sku_sets_item_code")
    rounding_account_code = _string(XeroSettings, "rounding_account_code", _ACCOUNT_CODE)


class QboSettingsSchema(_SectionSchema):
    model = QboSettings
    taxable_item_id = _string(QboSettings, "taxable_item_id", _QBO_ID)
    non_taxable_item_id = _string(QboSettings, "non_taxable_item_id", _QBO_ID)
    shipping_item_id = _string(QboSettings, "shipping_item_id", _QBO_ID)
    finance_charge_item_id = _string(QboSettings, "finance_charge_item_id", _QBO_ID)
    deposit_account_id = _string(QboSettings, "deposit_account_id", _QBO_ID)
    sku_matching = _boolean(QboSettings, "sku_matching")
    us_tax_model = _boolean(QboSettings, "us_tax_model")
    tax_code_id = _string(QboSettings, "tax_code_id", _QBO_ID)
    non_taxable_tax_code_id = _string(QboSettings, "non_taxable_tax_code_id", _QBO_ID)


class StartPointSchema(_SectionSchema):
    model = StartPoint
    kind = fields.Enum(StartPointKind, by_value=True, load_default=StartPointKind.FIRST_INVOICE)
    invoice_id = fields.Integer(
        allow_none=True, load_default=None, strict=True, validate=validate.Range(min=1)
    )
    on_date = fields.Date(allow_none=True, load_default=None)

    @validates_schema
    def _kind_has_its_value(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("kind", StartPointKind.FIRST_INVOICE)
        if kind is StartPointKind.INVOICE_ID and data.get("invoice_id") is None:
            raise ValidationError("required when kind is invoice_id", field_name="invoice_id")
        if kind is StartPointKind.DATE and data.get("on_date") is None:
            raise ValidationError("required when kind is date", field_name="on_date")


class SyncSettingsSchema(_SectionSchema):
    model = SyncSettings
    sync_payments = _boolean(SyncSettings, "sync_payments")
    only_when_paid = _boolean(SyncSettings, "only_when_paid")
    start_point = fields.Nested(StartPointSchema, load_default=StartPoint)
    due_date_days = fields.Integer(load_default=30, strict=True, validate=validate.Range(0, 3650))
    email_mode = fields.Enum(EmailMode, by_value=True, load_default=EmailMode.EXCEPTIONS_ONLY)
    notification_email = _string(
        SyncSettings, "notification_email", validate.Length(max=254), _blank_or_email
    )
    daily_summary_hour = fields.Integer(load_default=7, strict=True, validate=validate.Range(0, 23))
    monthly_reconciliation_email = _boolean(SyncSettings, "monthly_reconciliation_email")
    processing_enabled = _boolean(SyncSettings, "processing_enabled")
    skip_already_synced = _boolean(SyncSettings, "skip_already_synced")
    skip_overpayments = _boolean(SyncSettings, "skip_overpayments")
    skip_zero_total = _boolean(SyncSettings, "skip_zero_total")
    reverse_sync_enabled = _boolean(SyncSettings, "reverse_sync_enabled")
    reverse_sync_start_date = fields.Date(allow_none=True, load_default=None)
    invoice_number_prefix = _string(
        SyncSettings, "invoice_number_prefix", _fits_ledger_number_fields
    )

    @validates_schema
    def _reverse_sync_has_a_start(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("reverse_sync_enabled") and data.get("reverse_sync_start_date") is None:
            raise ValidationError(
                "required when reverse_sync_enabled is true", field_name="reverse_sync_start_date"
            )


class TenantSettingsSchema(Schema):
    """A full replacement: a section or field left out takes the model's default."""

    class Meta:
        unknown = RAISE

    destination = fields.Enum(Destination, by_value=True, required=True)
    keap = fields.Nested(KeapSettingsSchema, load_default=KeapSettings)
    xero = fields.Nested(XeroSettingsSchema, load_default=XeroSettings)
    qbo = fields.Nested(QboSettingsSchema, load_default=QboSettings)
    sync = fields.Nested(SyncSettingsSchema, load_default=SyncSettings)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> TenantSettings:
        return TenantSettings(**data)


# Built once (building copies every field); loading and dumping keep no state on it.
_SCHEMA = TenantSettingsSchema()


def settings_from_json(document: Any) -> TenantSettings:
    """Load settings; a ValidationError names every offending field."""
    return _SCHEMA.load(document)


def settings_to_json(settings: TenantSettings) -> dict[str, Any]:
    return _SCHEMA.dump(settings)
