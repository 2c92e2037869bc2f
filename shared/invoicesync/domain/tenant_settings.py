"""A tenant's settings (design.md §1) as the pure rules see them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from invoicesync.domain.canonical import Destination


class StartPointKind(enum.StrEnum):
    FIRST_INVOICE = "first_invoice"
    INVOICE_ID = "invoice_id"
    DATE = "date"


class TaxHandling(enum.StrEnum):
    """How Keap prices taxable lines: tax added on top, or already inside the price."""

    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"


class FinanceChargeHandling(enum.StrEnum):
    AS_LINE = "as_line"
    IGNORE = "ignore"


class EmailMode(enum.StrEnum):
    DAILY = "daily"
    EXCEPTIONS_ONLY = "exceptions_only"


class XeroInvoiceStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    AUTHORISED = "AUTHORISED"


@dataclass(frozen=True)
class StartPoint:
    kind: StartPointKind = StartPointKind.FIRST_INVOICE
    invoice_id: int | None = None
    on_date: date | None = None


@dataclass(frozen=True)
class KeapSettings:
    currency: str = "USD"
    tax_handling: TaxHandling = TaxHandling.EXCLUSIVE
    finance_charges: FinanceChargeHandling = FinanceChargeHandling.AS_LINE
    # One of the app's configured Manual Payment Types; reverse sync records payments with it.
    manual_payment_type: str = "Credit Card (Manual)"
    # The Keap app's IANA time zone: Keap sends UTC instants but invoice dates are local.
    timezone: str = "UTC"


@dataclass(frozen=True)
class XeroSettings:
    default_account_code: str = "200"
    discount_account_code: str = ""
    finance_charge_account_code: str = ""
    shipping_account_code: str = ""
    taxable_tax_type: str = "OUTPUT"
    zero_tax_type: str = "NONE"
    invoice_status: XeroInvoiceStatus = XeroInvoiceStatus.AUTHORISED
    payment_account_code: str = "090"
    sku_matching: bool = False
    sku_sets_item_code: bool = False
    # The org's ROUNDING system account: where a cents adjustment line goes.
    rounding_account_code: str = "860"


@dataclass(frozen=True)
class QboSettings:
    taxable_item_id: str = ""
    non_taxable_item_id: str = ""
    shipping_item_id: str = ""
    finance_charge_item_id: str = ""
    deposit_account_id: str = ""
    sku_matching: bool = False
    us_tax_model: bool = True
    tax_code_id: str = ""
    # Non-US companies: the TaxCode Id for lines that carry no tax (e.g. a zero-rated code).
    non_taxable_tax_code_id: str = ""


@dataclass(frozen=True)
class SyncSettings:
    sync_payments: bool = True
    only_when_paid: bool = False
    start_point: StartPoint = field(default_factory=StartPoint)
    due_date_days: int = 30
    email_mode: EmailMode = EmailMode.EXCEPTIONS_ONLY
    # Where the daily summary or exception emails go; blank sends nothing.
    notification_email: str = ""
    # Daily mode: the hour (0-23, in keap.timezone) the summary of the previous 24 hours goes.
    daily_summary_hour: int = 7
    # On the 1st of each month, at daily_summary_hour: the previous month's reconciliation.
    monthly_reconciliation_email: bool = False
    processing_enabled: bool = False
    skip_already_synced: bool = True
    skip_overpayments: bool = True
    skip_zero_total: bool = True
    # ReverseSync: ledger payments dated on or after the start date are recorded in Keap.
    reverse_sync_enabled: bool = False
    reverse_sync_start_date: date | None = None
    # Put before Keap's invoice number in the ledger (e.g. "K-" makes 1001 "K-1001"), so Keap's
    # numbers never meet the company's own; see ledger_numbers.invoice_number_prefix_problem.
    invoice_number_prefix: str = ""


@dataclass(frozen=True)
class TenantSettings:
    destination: Destination
    keap: KeapSettings = field(default_factory=KeapSettings)
    xero: XeroSettings = field(default_factory=XeroSettings)
    qbo: QboSettings = field(default_factory=QboSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
