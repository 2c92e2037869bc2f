"""The canonical invoice and payment: what transform publishes and every writer consumes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


class LineKind(enum.StrEnum):
    PRODUCT = "product"
    SHIPPING = "shipping"
    TAX = "tax"
    DISCOUNT = "discount"
    FINANCE_CHARGE = "finance_charge"
    OTHER = "other"


class PaymentKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


class Destination(enum.StrEnum):
    XERO = "xero"
    QBO = "qbo"


@dataclass(frozen=True)
class Contact:
    keap_id: str
    name: str
    email: str | None = None
    company: str | None = None


@dataclass(frozen=True)
class Line:
    """One invoice line. `line_amount` is exact and authoritative; discounts are negative."""

    kind: LineKind
    description: str
    quantity: Decimal
    unit_amount: Decimal
    line_amount: Decimal
    taxable: bool = False
    sku: str | None = None
    keap_product_id: str | None = None


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    due: Decimal


@dataclass(frozen=True)
class PaymentPlan:
    final_payment_date: date
    installments: int


@dataclass(frozen=True)
class CanonicalInvoice:
    tenant_id: str
    keap_invoice_id: str
    keap_order_id: str
    invoice_number: str
    contact: Contact
    currency: str
    invoice_date: date
    due_date: date
    lines: tuple[Line, ...]
    totals: Totals
    paid_at_creation: bool = False
    payment_plan: PaymentPlan | None = None
    tax_inclusive: bool = False
    content_hash: str = ""
    # Keap's modification time of the order this content was read at: the content's version,
    # so an older copy (a replayed dead letter) never overwrites newer ledger content.
    keap_modified_at: datetime | None = None


@dataclass(frozen=True)
class CanonicalPayment:
    tenant_id: str
    keap_payment_id: str
    keap_invoice_id: str
    amount: Decimal
    payment_date: date
    method: str
    kind: PaymentKind = PaymentKind.PAYMENT
    currency: str = "USD"
    content_hash: str = ""
    invoice_number: str = ""  # the paid invoice's number, how a bookkeeper finds it


@dataclass(frozen=True)
class SkipDecision:
    """Why an invoice or payment is not sent to the destination."""

    reason: str
    detail: str = ""

    @property
    def summary(self) -> str:
        """How the activity log words it: the reason, then the detail."""
        return f"{self.reason}: {self.detail}" if self.detail else str(self.reason)
