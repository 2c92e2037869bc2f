"""Every setting of design.md §1 in plain words, and the form's values to and from the API's
settings document (loaded by the API's own TenantSettingsSchema)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from invoicesync.domain.canonical import Destination
from invoicesync.tenant_settings_schema import TenantSettingsSchema


@dataclass(frozen=True)
class SettingField:
    name: str  # dotted, as the API's error names it: "xero.default_account_code"
    label: str
    help: str = ""
    kind: str = "text"  # text, number, date, yes_no, choice, reference
    choices: tuple[tuple[str, str], ...] = ()  # (value, words) for kind "choice"
    reference: str = ""  # accounts, tax_rates or items: filled from the tenant's ledger
    optional: bool = False  # a reference that may be left blank


@dataclass(frozen=True)
class SettingGroup:
    title: str
    fields: tuple[SettingField, ...]
    destination: Destination | None = None  # shown only for tenants of this destination


KEAP = SettingGroup(
    "Keap",
    (
        SettingField("keap.currency", "Currency", "Your Keap app's currency, e.g. USD."),
        SettingField(
            "keap.tax_handling",
            "Sales tax",
            "How your Keap prices treat sales tax.",
            "choice",
            (("exclusive", "Tax is added on top of prices"), ("inclusive", "Prices include tax")),
        ),
        SettingField(
            "keap.finance_charges",
            "Finance charges",
            kind="choice",
            choices=(
                ("as_line", "Add them to the invoice as a line"),
                ("ignore", "Leave them out"),
            ),
        ),
        SettingField(
            "keap.manual_payment_type",
            "Payment type for payments recorded in Keap",
            "One of your Keap app's manual payment types.",
        ),
        SettingField(
            "keap.timezone", "Time zone of your Keap app", "For example America/New_York."
        ),
    ),
)

XERO = SettingGroup(
    "Xero",
    (
        SettingField(
            "xero.default_account_code",
            "Sales account for invoice lines",
            "Usually 200 (Sales).",
            "reference",
            reference="accounts",
        ),
        SettingField(
            "xero.discount_account_code",
            "Account for discounts",
            "Blank uses the sales account.",
            "reference",
            reference="accounts",
            optional=True,
        ),
        SettingField(
            "xero.finance_charge_account_code",
            "Account for finance charges",
            "Blank uses the sales account.",
            "reference",
            reference="accounts",
            optional=True,
        ),
        SettingField(
            "xero.shipping_account_code",
            "Account for shipping",
            "Blank uses the sales account.",
            "reference",
            reference="accounts",
            optional=True,
        ),
        SettingField(
            "xero.taxable_tax_type",
            "Tax rate for taxable lines",
            kind="reference",
            reference="tax_rates",
        ),
        SettingField(
            "xero.zero_tax_type", "Tax rate meaning no tax", kind="reference", reference="tax_rates"
        ),
        SettingField(
            "xero.invoice_status",
            "New invoices are created as",
            "An approved invoice can no longer be edited or deleted in Xero, only voided.",
            "choice",
            (
                ("DRAFT", "Draft"),
                ("SUBMITTED", "Awaiting approval"),
                ("AUTHORISED", "Approved (awaiting payment)"),
            ),
        ),
        SettingField(
            "xero.payment_account_code",
            "Bank account that receives payments",
            kind="reference",
            reference="accounts",
        ),
        SettingField(
            "xero.rounding_account_code",
            "Rounding account",
            "Where a cent of rounding goes so totals match Keap's.",
            "reference",
            reference="accounts",
            optional=True,
        ),
        SettingField(
            "xero.sku_matching",
            "Match Keap product SKUs to Xero item codes",
            "A matching item's sales account is used for the line.",
            "yes_no",
        ),
        SettingField(
            "xero.sku_sets_item_code", "Also set the Xero item on matched lines", kind="yes_no"
        ),
    ),
    Destination.XERO,
)

QBO = SettingGroup(
    "QuickBooks Online",
    (
        SettingField(
            "qbo.taxable_item_id", "Item for taxable lines", kind="reference", reference="items"
        ),
        SettingField(
            "qbo.non_taxable_item_id",
            "Item for non-taxable lines",
            kind="reference",
            reference="items",
        ),
        SettingField(
            "qbo.shipping_item_id",
            "Item for shipping",
            "Blank uses the item for non-taxable lines.",
            "reference",
            reference="items",
            optional=True,
        ),
        SettingField(
            "qbo.finance_charge_item_id",
            "Item for finance charges",
            "Blank uses the item for non-taxable lines.",
            "reference",
            reference="items",
            optional=True,
        ),
        SettingField(
            "qbo.deposit_account_id",
            "Account that receives payments (id)",
            "Blank: Undeposited Funds.",
        ),
        SettingField(
            "qbo.sku_matching", "Match Keap product SKUs to QuickBooks items", kind="yes_no"
        ),
        SettingField("qbo.us_tax_model", "The company uses US sales tax", kind="yes_no"),
        SettingField(
            "qbo.tax_code_id",
            "Sales tax code (US: the agency the tax is owed to; elsewhere: taxable lines)",
            "Required for a US company that collects sales tax for several agencies.",
        ),
        SettingField(
            "qbo.non_taxable_tax_code_id", "Tax code for lines without tax (outside the US)"
        ),
    ),
    Destination.QBO,
)

SYNC = SettingGroup(
    "What to sync",
    (
        SettingField(
            "sync.sync_payments",
            "Sync",
            kind="choice",
            choices=(("true", "Invoices and payments"), ("false", "Invoices only")),
        ),
        SettingField(
            "sync.only_when_paid",
            "Create invoices",
            kind="choice",
            choices=(
                ("false", "As soon as they are raised in Keap"),
                ("true", "Only once they are paid"),
            ),
        ),
        SettingField(
            "sync.start_point.kind",
            "Start from",
            "Everything newer is synced, history included.",
            "choice",
            (
                ("first_invoice", "The first invoice ever"),
                ("invoice_id", "A Keap invoice id"),
                ("date", "A date"),
            ),
        ),
        SettingField(
            "sync.start_point.invoice_id",
            "Start invoice id",
            "When starting from an invoice id.",
            "number",
        ),
        SettingField(
            "sync.start_point.on_date", "Start date", "When starting from a date.", "date"
        ),
        SettingField(
            "sync.due_date_days",
            "Days until an invoice is due",
            "Used when the invoice is not paid at once and has no payment plan.",
            "number",
        ),
        SettingField(
            "sync.email_mode",
            "Emails",
            kind="choice",
            choices=(
                ("daily", "A daily summary"),
                ("exceptions_only", "Only for problems and skips"),
            ),
        ),
        SettingField("sync.notification_email", "Send emails to"),
        SettingField(
            "sync.daily_summary_hour",
            "Daily summary hour",
            "With a daily summary: the hour it is sent, in your Keap app's time zone; it covers"
            " the 24 hours before.",
            kind="choice",
            choices=tuple((str(hour), f"{hour:02d}:00") for hour in range(24)),
        ),
        SettingField(
            "sync.monthly_reconciliation_email",
            "Monthly reconciliation email",
            "On the 1st of each month, at the summary hour: last month's reconciliation of Keap"
            " and your books (totals per group and currency, a link to the report).",
            kind="yes_no",
        ),
        SettingField(
            "sync.invoice_number_prefix",
            "Invoice number prefix",
            "Put before Keap's invoice number in Xero or QuickBooks (e.g. K- makes 1001 K-1001),"
            " so it never meets a number your books already use. Up to 10 letters, digits,"
            " '.', '_' or '-'; leave blank for none.",
        ),
        SettingField(
            "sync.skip_already_synced", "Skip an invoice that was synced already", kind="yes_no"
        ),
        SettingField(
            "sync.skip_overpayments", "Skip a payment that would overpay an invoice", kind="yes_no"
        ),
        SettingField("sync.skip_zero_total", "Skip invoices whose total is zero", kind="yes_no"),
        SettingField(
            "sync.reverse_sync_enabled", "Record ledger payments back in Keap", kind="yes_no"
        ),
        SettingField("sync.reverse_sync_start_date", "Record ledger payments from", kind="date"),
    ),
)

PROCESSING = SettingField(
    "sync.processing_enabled", "Processing", "Syncing runs only while this is on.", "yes_no"
)


def groups_for(destination: Destination) -> list[SettingGroup]:
    """The groups this tenant sees, keeping only fields the API's schema knows."""
    known = _schema_fields()
    shown = [KEAP, XERO if destination is Destination.XERO else QBO, SYNC]
    return [
        SettingGroup(
            group.title, tuple(f for f in group.fields if f.name in known), group.destination
        )
        for group in shown
    ]


def labels_for(destination: Destination) -> dict[str, str]:
    labels = {f.name: f.label for group in groups_for(destination) for f in group.fields}
    return labels | {PROCESSING.name: PROCESSING.label, "destination": "Destination"}


def form_values(document: Mapping[str, Any]) -> dict[str, str]:
    """The API's settings document flattened to the form's dotted names, as strings."""
    values: dict[str, str] = {}
    for key, value in document.items():
        if isinstance(value, Mapping):
            values |= {f"{key}.{name}": text for name, text in form_values(value).items()}
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        else:
            values[key] = "" if value is None else str(value)
    return values


def settings_document(
    current: Mapping[str, Any], form: Mapping[str, str], destination: Destination
) -> dict[str, Any]:
    """The current document with every field this form shows replaced by the posted value;
    fields the form does not show keep their saved value."""
    document = _deep_copy(current)
    shown = [field for group in groups_for(destination) for field in group.fields]
    for field in [*shown, PROCESSING]:
        # A browser leaves unticked boxes out; any other missing field keeps its saved value.
        if field.name in form or field.kind == "yes_no":
            _assign(document, field.name, _posted(field, form))
    document.pop("saved", None)
    return document


def _posted(field: SettingField, form: Mapping[str, str]) -> Any:
    raw = form.get(field.name, "").strip()
    if field.kind == "yes_no":
        return raw == "true"
    if field.kind == "choice" and raw in ("true", "false"):
        return raw == "true"
    if field.kind == "choice" and raw.isdigit() and all(v.isdigit() for v, _ in field.choices):
        return int(raw)
    if field.kind in ("number", "date") and raw == "":
        return None
    if field.kind == "number":
        return int(raw) if raw.lstrip("-").isdigit() else raw
    return raw


def _assign(document: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, name = dotted.split(".")
    for parent in parents:
        document = document.setdefault(parent, {})
    document[name] = value


def _deep_copy(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in document.items()}


def _schema_fields() -> set[str]:
    names: set[str] = set()

    def walk(schema, prefix: str) -> None:
        for name, spec in schema.fields.items():
            nested = getattr(spec, "schema", None)
            if nested is not None and hasattr(spec, "nested"):
                walk(nested, f"{prefix}{name}.")
            else:
                names.add(f"{prefix}{name}")

    walk(TenantSettingsSchema(), "")
    return names
