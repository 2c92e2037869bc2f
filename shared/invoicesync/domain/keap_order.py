"""What we read from Keap (REST v2): orders, their items, payment plans and payments, typed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Self


class KeapEnum(enum.StrEnum):
    """A Keap enumeration read leniently: in any case, and a value Keap adds later as UNKNOWN."""

    @classmethod
    def read(cls, value: str | None, *, default: str) -> Self:
        try:
            return cls((value or default).upper())
        except ValueError:
            return cls("UNKNOWN")


class KeapItemType(KeapEnum):
    """OrderItem.item_type as Keap v2 names it; anything newer reads as UNKNOWN."""

    PRODUCT = "PRODUCT"
    SHIPPING = "SHIPPING"
    TAX = "TAX"
    SERVICE = "SERVICE"
    UPSELL = "UPSELL"
    FINANCE_CHARGE = "FINANCE_CHARGE"
    DISCOUNT = "DISCOUNT"
    PROGRAM = "PROGRAM"
    SUBSCRIPTION = "SUBSCRIPTION"
    DISCOUNT_FREE_TRIAL = "DISCOUNT_FREE_TRIAL"
    DISCOUNT_ORDER_TOTAL = "DISCOUNT_ORDER_TOTAL"
    DISCOUNT_PRODUCT = "DISCOUNT_PRODUCT"
    DISCOUNT_PRODUCT_CATEGORY = "DISCOUNT_PRODUCT_CATEGORY"
    DISCOUNT_SHIPPING = "DISCOUNT_SHIPPING"
    TIP = "TIP"
    OTHER = "OTHER"
    FEE = "FEE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: str | None) -> KeapItemType:
        return cls.read(value, default="PRODUCT")

    @property
    def is_discount(self) -> bool:
        return self.value.startswith("DISCOUNT")


class KeapOrderStatus(KeapEnum):
    DRAFT = "DRAFT"
    SENT = "SENT"
    VIEWED = "VIEWED"
    PAID = "PAID"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: str | None) -> KeapOrderStatus:
        return cls.read(value, default="UNKNOWN")


class KeapSourceType(KeapEnum):
    API = "API"
    CHECKOUT_FORM = "CHECKOUT_FORM"
    INVOICE = "INVOICE"
    MANUAL_PAYMENT = "MANUAL_PAYMENT"
    QUICKBOOKS = "QUICKBOOKS"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: str | None) -> KeapSourceType:
        if (value or "").upper() == "QBO_SYNC":  # the v1 name of the same source
            return cls.QUICKBOOKS
        return cls.read(value, default="UNKNOWN")


class KeapPayStatus(KeapEnum):
    """InvoiceOrderPayment.pay_status, plus the sales Payment.status values."""

    MANUAL_PAID = "MANUAL_PAID"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"
    PAYPAL_PAID = "PAYPAL_PAID"
    APPROVED = "APPROVED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ERROR = "ERROR"
    PENDING = "PENDING"
    NONE = "NONE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: str | None) -> KeapPayStatus:
        return cls.read(value, default="NONE")

    @property
    def is_settled(self) -> bool:
        """Money that actually moved (or was recorded by hand); NONE is how manual rows read."""
        return self in _SETTLED


_SETTLED = frozenset(
    {
        KeapPayStatus.MANUAL_PAID,
        KeapPayStatus.REFUNDED,
        KeapPayStatus.PAYPAL_PAID,
        KeapPayStatus.APPROVED,
        KeapPayStatus.COMPLETED,
        KeapPayStatus.NONE,
    }
)


@dataclass(frozen=True)
class KeapContact:
    id: str
    given_name: str = ""
    family_name: str = ""
    email: str | None = None
    company: str | None = None


@dataclass(frozen=True)
class KeapProduct:
    id: str
    name: str = ""
    sku: str | None = None
    description: str = ""
    shippable: bool = False
    taxable: bool = False


@dataclass(frozen=True)
class KeapSpecial:
    """OrderItem.special: how a discount item was defined (AMOUNT or PERCENT)."""

    amount: Decimal
    discount_method: str = "AMOUNT"
    special_item_id: str | None = None


@dataclass(frozen=True)
class KeapOrderItem:
    """One order item. Money is in the currency's units (Keap's minor units already divided)."""

    id: str
    item_type: KeapItemType
    name: str
    quantity: Decimal
    price_per_unit: Decimal
    description: str = ""
    notes: str = ""
    discount: Decimal = Decimal(0)
    cost_per_unit: Decimal | None = None
    product: KeapProduct | None = None
    special: KeapSpecial | None = None
    subscription_id: str | None = None

    @property
    def sku(self) -> str | None:
        return self.product.sku if self.product and self.product.sku else None

    @property
    def taxable(self) -> bool:
        return bool(self.product and self.product.taxable)


@dataclass(frozen=True)
class KeapPaymentPlanItem:
    due_date: date
    amount_due: Decimal
    amount_paid: Decimal = Decimal(0)
    status: str = "UNPAID_MANUAL"


@dataclass(frozen=True)
class KeapPaymentPlan:
    plan_start_date: date
    number_of_payments: int
    days_between_payments: int
    initial_payment_amount: Decimal = Decimal(0)
    initial_payment_date: date | None = None
    auto_charge: bool = False
    items: tuple[KeapPaymentPlanItem, ...] = ()


@dataclass(frozen=True)
class KeapOrder:
    """An order (with its one invoice). Totals are Keap's own figures, None when absent."""

    id: str
    contact: KeapContact
    items: tuple[KeapOrderItem, ...]
    status: KeapOrderStatus = KeapOrderStatus.UNKNOWN
    source_type: KeapSourceType = KeapSourceType.UNKNOWN
    invoice_id: str | None = None
    invoice_number: str | None = None
    title: str = ""
    currency: str | None = None
    order_time: datetime | None = None
    creation_time: datetime | None = None
    modification_time: datetime | None = None
    due_time: datetime | None = None
    total: Decimal | None = None
    total_paid: Decimal = Decimal(0)
    total_due: Decimal | None = None
    refund_total: Decimal = Decimal(0)
    refund_status: str | None = None
    payment_plan: KeapPaymentPlan | None = None

    @property
    def is_refunded(self) -> bool:
        return self.refund_total > 0 or (self.refund_status or "NONE").upper() != "NONE"


@dataclass(frozen=True)
class KeapPayment:
    """A payment applied to an order: an InvoiceOrderPayment row, or a sales Payment.

    `amount` is signed as Keap gives it; `is_refund` says whether it gives money back.
    """

    id: str
    amount: Decimal
    paid_at: datetime | None
    status: KeapPayStatus = KeapPayStatus.NONE
    method: str = ""
    note: str = ""
    invoice_id: str | None = None
    order_ids: tuple[str, ...] = ()
    payment_id: str | None = None
    # Keap links a payment and its refund (refund_invoice_payment_id / refund_payment_id) but
    # does not document the direction, so the link is kept and never used to decide the kind.
    refund_link_id: str | None = None

    @property
    def is_refund(self) -> bool:
        return self.amount < 0 or self.status is KeapPayStatus.REFUNDED
