"""In-memory Keap data for one sandbox process: contacts, products, orders, payments, hooks."""

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from invoicesync_sandbox.keap.rules import line_amount


@dataclass
class Contact:
    id: int
    body: dict
    create_time: datetime
    update_time: datetime


@dataclass
class Product:
    id: int
    name: str
    sku: str
    price: Decimal
    currency: str
    body: dict
    create_time: datetime
    update_time: datetime


@dataclass
class OrderItem:
    id: int
    item_type: str
    name: str
    quantity: int
    price_per_unit: Decimal
    cost_per_unit: Decimal
    description: str = ""
    notes: str = ""
    product: Product | None = None

    @property
    def amount(self) -> Decimal:
        return line_amount(self.item_type, self.quantity, self.price_per_unit)


@dataclass
class PaymentPlanTerms:
    number_of_payments: int
    days_between_payments: int
    plan_start_date: date
    auto_charge: bool = False
    max_charge_attempts: int = 0
    days_between_retries: int = 0
    payment_method_id: str | None = None
    initial_payment_amount: Decimal = Decimal(0)
    initial_payment_date: date | None = None


@dataclass
class OrderPayment:
    """One InvoiceOrderPayment row: the part of a payment applied to one order's invoice."""

    id: int
    payment_id: int
    amount: Decimal
    note: str
    pay_time: datetime
    last_updated_time: datetime
    skip_commission: bool
    pay_status: str = "MANUAL_PAID"


@dataclass
class Payment:
    """One sales Payment: money from one contact, split over one or more orders' invoices."""

    id: int
    transaction_id: int
    contact: Contact
    method_type: str
    note: str
    pay_time: datetime
    update_time: datetime
    commissioned: bool
    allocations: dict[int, Decimal]  # order id -> the amount applied to that order

    @property
    def amount(self) -> Decimal:
        return sum(self.allocations.values(), Decimal(0))


@dataclass
class Order:
    id: int
    invoice_id: int
    contact: Contact
    title: str
    order_type: str
    order_time: datetime
    creation_time: datetime
    modification_time: datetime
    currency: str
    source_type: str = "API"
    items: list[OrderItem] = field(default_factory=list)
    payments: list[OrderPayment] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    payment_plan: PaymentPlanTerms | None = None
    # How this order's amounts are presented: {"currency_values": "minor"|"major",
    # "order_payments": "major"|"minor"}; empty means as the spec's types say.
    money_units: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal(0))

    @property
    def total_paid(self) -> Decimal:
        paid = [p.amount for p in self.payments if p.pay_status != "REFUNDED"]
        return sum(paid, Decimal(0))

    @property
    def paid(self) -> bool:
        return self.total > 0 and self.total_paid >= self.total


@dataclass
class Hook:
    key: str
    event_key: str
    hook_url: str
    status: str = "Unverified"
    secret: str = ""


class KeapStore:
    """Every Keap record the sandbox holds, with Keap-like independent id sequences."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.contacts: dict[int, Contact] = {}
        self.products: dict[int, Product] = {}
        self.orders: dict[int, Order] = {}
        self.payments: dict[int, Payment] = {}
        self.hooks: dict[str, Hook] = {}
        self._contact_ids = itertools.count(1)
        self._product_ids = itertools.count(1)
        self._order_ids = itertools.count(1)
        self._invoice_ids = itertools.count(5001)
        self._item_ids = itertools.count(1)
        self._order_payment_ids = itertools.count(1)
        self._payment_ids = itertools.count(7001)
        # Far from the payment ids, so a transaction id never reads as some other payment's id.
        self._transaction_ids = itertools.count(900_001)
        self._hook_ids = itertools.count(1)

    def next_contact_id(self) -> int:
        return next(self._contact_ids)

    def next_product_id(self) -> int:
        return next(self._product_ids)

    def next_order_ids(self) -> tuple[int, int]:
        """(order id, invoice id): a Keap order's invoice has an id of its own."""
        return next(self._order_ids), next(self._invoice_ids)

    def next_item_id(self) -> int:
        return next(self._item_ids)

    def next_payment_ids(self) -> tuple[int, int]:
        """(payment id, transaction id): one of each however many orders the payment covers."""
        return next(self._payment_ids), next(self._transaction_ids)

    def next_order_payment_id(self) -> int:
        return next(self._order_payment_ids)

    def next_hook_key(self) -> str:
        return str(next(self._hook_ids))
