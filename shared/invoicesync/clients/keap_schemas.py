"""marshmallow schemas that load Keap REST v2 JSON into the typed Keap records.

This is the edge where Keap's units are normalised: a `CurrencyValue` carries an integer count
of the currency's minor units (10000 = $100.00, 1500 = ¥1500) and becomes a Decimal in the
currency's units; payment amounts are already major-unit numbers (`Payment.amount` 123.34,
`InvoiceOrderPayment.amount` is typed `number` like it) and are read exactly, never as binary
floats. Times become aware UTC datetimes. Fields we do not use are excluded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load

from invoicesync.domain.keap_amount_checks import check_formatted_amount
from invoicesync.domain.keap_order import (
    KeapContact,
    KeapItemType,
    KeapOrder,
    KeapOrderItem,
    KeapOrderStatus,
    KeapPayment,
    KeapPaymentPlan,
    KeapPaymentPlanItem,
    KeapPayStatus,
    KeapProduct,
    KeapSourceType,
    KeapSpecial,
)
from invoicesync.domain.money import InvalidAmount, from_minor_units, minor_unit, to_decimal

T = TypeVar("T")

# A CurrencyValue without a currency code is read with two decimals, like most currencies.
_FALLBACK_CURRENCY = "USD"


@dataclass(frozen=True)
class KeapPage(Generic[T]):
    items: tuple[T, ...]
    next_page_token: str | None = None


@dataclass(frozen=True)
class _Money:
    amount: Decimal
    currency: str | None


class ExactNumber(fields.Field):
    """A JSON number (or numeric string) read as an exact Decimal."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            return to_decimal(value)
        except InvalidAmount as exc:
            raise ValidationError(str(exc)) from exc


class KeapId(fields.Field):
    """An id: v2 types ids as strings, but its own examples show bare numbers."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError("not a valid id")
        return str(value)


def _id(required: bool = False) -> KeapId:
    return KeapId(required=True) if required else KeapId(allow_none=True)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _aware() -> fields.AwareDateTime:
    return fields.AwareDateTime(default_timezone=UTC, allow_none=True)


def _text() -> fields.String:
    return fields.String(allow_none=True)


class _KeapSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class CurrencyValueSchema(_KeapSchema):
    amount = fields.Integer(required=True, strict=True)
    currency_code = _text()
    formatted_amount = _text()

    @post_load
    def to_money(self, data: dict[str, Any], **kwargs: Any) -> _Money:
        code = (data.get("currency_code") or "").upper() or None
        return _Money(from_minor_units(data["amount"], code or _FALLBACK_CURRENCY), code)


def _money() -> fields.Nested:
    return fields.Nested(CurrencyValueSchema, allow_none=True)


def _amount(money: _Money | None) -> Decimal:
    return money.amount if money is not None else Decimal(0)


class BasicContactSchema(_KeapSchema):
    id = _id(required=True)
    email = _text()
    given_name = _text()
    family_name = _text()


class OrderItemProductSchema(_KeapSchema):
    id = _id(required=True)
    name = _text()
    sku = _text()
    description = _text()
    shippable = fields.Boolean(allow_none=True)
    taxable = fields.Boolean(allow_none=True)

    @post_load
    def to_product(self, data: dict[str, Any], **kwargs: Any) -> KeapProduct:
        return KeapProduct(
            id=data["id"],
            name=data.get("name") or "",
            sku=data.get("sku") or None,
            description=data.get("description") or "",
            shippable=bool(data.get("shippable")),
            taxable=bool(data.get("taxable")),
        )


class DiscountSchema(_KeapSchema):
    amount = ExactNumber(required=True)
    special_item_id = _id()
    discount_method = _text()

    @post_load
    def to_special(self, data: dict[str, Any], **kwargs: Any) -> KeapSpecial:
        return KeapSpecial(
            amount=data["amount"],
            discount_method=(data.get("discount_method") or "AMOUNT").upper(),
            special_item_id=data.get("special_item_id"),
        )


class OrderItemSchema(_KeapSchema):
    id = _id(required=True)
    name = _text()
    description = _text()
    notes = _text()
    quantity = fields.Integer(load_default=1, allow_none=True)
    discount = _money()
    special = fields.Nested(DiscountSchema, allow_none=True)
    product = fields.Nested(OrderItemProductSchema, allow_none=True)
    subscription_id = _id()
    item_type = _text()
    cost_per_unit = _money()
    price_per_unit = _money()

    @post_load
    def to_item(self, data: dict[str, Any], **kwargs: Any) -> KeapOrderItem:
        cost = data.get("cost_per_unit")
        quantity = data.get("quantity")
        return KeapOrderItem(
            id=data["id"],
            item_type=KeapItemType.parse(data.get("item_type")),
            name=data.get("name") or "",
            quantity=Decimal(1 if quantity is None else quantity),
            price_per_unit=_amount(data.get("price_per_unit")),
            description=data.get("description") or "",
            notes=data.get("notes") or "",
            discount=_amount(data.get("discount")),
            cost_per_unit=cost.amount if cost is not None else None,
            product=data.get("product"),
            special=data.get("special"),
            subscription_id=data.get("subscription_id"),
        )


class PaymentPlanItemSchema(_KeapSchema):
    status = _text()
    due_date = fields.Date(required=True)
    amount_due = _money()
    amount_paid = _money()

    @post_load
    def to_plan_item(self, data: dict[str, Any], **kwargs: Any) -> KeapPaymentPlanItem:
        return KeapPaymentPlanItem(
            due_date=data["due_date"],
            amount_due=_amount(data.get("amount_due")),
            amount_paid=_amount(data.get("amount_paid")),
            status=(data.get("status") or "UNPAID_MANUAL").upper(),
        )


class PaymentPlanSchema(_KeapSchema):
    auto_charge = fields.Boolean(allow_none=True)
    initial_payment_amount = _money()
    initial_payment_date = fields.Date(allow_none=True)
    plan_start_date = fields.Date(required=True)
    number_of_payments = fields.Integer(required=True)
    days_between_payments = fields.Integer(required=True)
    payment_plan_items = fields.List(fields.Nested(PaymentPlanItemSchema), allow_none=True)

    @post_load
    def to_plan(self, data: dict[str, Any], **kwargs: Any) -> KeapPaymentPlan:
        return KeapPaymentPlan(
            plan_start_date=data["plan_start_date"],
            number_of_payments=data["number_of_payments"],
            days_between_payments=data["days_between_payments"],
            initial_payment_amount=_amount(data.get("initial_payment_amount")),
            initial_payment_date=data.get("initial_payment_date"),
            auto_charge=bool(data.get("auto_charge")),
            items=tuple(data.get("payment_plan_items") or ()),
        )


class ShippingInformationSchema(_KeapSchema):
    company = _text()
    invoice_to_company = fields.Boolean(allow_none=True)


class OrderV2Schema(_KeapSchema):
    id = _id(required=True)
    title = _text()
    status = _text()
    total = _money()
    total_paid = _money()
    total_due = _money()
    refund_total = _money()
    contact = fields.Nested(BasicContactSchema, allow_none=True)
    source_type = _text()
    creation_time = _aware()
    modification_time = _aware()
    order_time = _aware()
    due_time = _aware()
    shipping_information = fields.Nested(ShippingInformationSchema, allow_none=True)
    order_items = fields.List(fields.Nested(OrderItemSchema), allow_none=True)
    payment_plan = fields.Nested(PaymentPlanSchema, allow_none=True)
    invoice_number = _id()
    invoice_id = _id()
    refund_status = _text()

    @post_load
    def to_order(self, data: dict[str, Any], **kwargs: Any) -> KeapOrder:
        total: _Money | None = data.get("total")
        total_due: _Money | None = data.get("total_due")
        return KeapOrder(
            id=data["id"],
            contact=_contact(data.get("contact"), data.get("shipping_information")),
            items=tuple(data.get("order_items") or ()),
            status=KeapOrderStatus.parse(data.get("status")),
            source_type=KeapSourceType.parse(data.get("source_type")),
            invoice_id=data.get("invoice_id") or None,
            invoice_number=data.get("invoice_number") or None,
            title=data.get("title") or "",
            currency=_currency(data),
            order_time=_utc(data.get("order_time")),
            creation_time=_utc(data.get("creation_time")),
            modification_time=_utc(data.get("modification_time")),
            due_time=_utc(data.get("due_time")),
            total=total.amount if total is not None else None,
            total_paid=_amount(data.get("total_paid")),
            total_due=total_due.amount if total_due is not None else None,
            refund_total=_amount(data.get("refund_total")),
            refund_status=data.get("refund_status"),
            payment_plan=data.get("payment_plan"),
        )


def _contact(contact: dict[str, Any] | None, shipping: dict[str, Any] | None) -> KeapContact:
    # An order's BasicContact has no company; the shipping block's is the only one it carries.
    company = (shipping or {}).get("company") or None
    if contact is None:
        return KeapContact(id="", company=company)
    return KeapContact(
        id=contact["id"],
        given_name=contact.get("given_name") or "",
        family_name=contact.get("family_name") or "",
        email=contact.get("email") or None,
        company=company,
    )


def _currency(data: dict[str, Any]) -> str | None:
    for key in ("total", "total_paid", "total_due", "refund_total"):
        money: _Money | None = data.get(key)
        if money is not None and money.currency:
            return money.currency
    return None


class InvoiceOrderPaymentSchema(_KeapSchema):
    """One row of GET /rest/v2/orders/{order_id}/payments."""

    id = _id(required=True)
    amount = ExactNumber(required=True)
    note = _text()
    invoice_id = _id()
    payment_id = _id()
    pay_time = _aware()
    pay_status = _text()
    refund_invoice_payment_id = _id()

    @post_load
    def to_payment(self, data: dict[str, Any], **kwargs: Any) -> KeapPayment:
        return KeapPayment(
            id=data["id"],
            amount=data["amount"],
            paid_at=_utc(data.get("pay_time")),
            status=KeapPayStatus.parse(data.get("pay_status")),
            note=data.get("note") or "",
            invoice_id=data.get("invoice_id") or None,
            payment_id=data.get("payment_id") or None,
            refund_link_id=data.get("refund_invoice_payment_id") or None,
        )


class SalesPaymentSchema(_KeapSchema):
    """One `Payment` of GET /rest/v2/sales/payments (it may cover several orders)."""

    id = _id(required=True)
    type = _text()
    amount = ExactNumber(required=True)
    note = _text()
    status = _text()
    payment_time = _aware()
    refund_payment_id = _id()
    order_ids = fields.List(KeapId(), allow_none=True)

    @post_load
    def to_payment(self, data: dict[str, Any], **kwargs: Any) -> KeapPayment:
        return KeapPayment(
            id=data["id"],
            amount=data["amount"],
            paid_at=_utc(data.get("payment_time")),
            status=KeapPayStatus.parse(data.get("status")),
            method=data.get("type") or "",
            note=data.get("note") or "",
            order_ids=tuple(data.get("order_ids") or ()),
            payment_id=data["id"],
            refund_link_id=data.get("refund_payment_id") or None,
        )


class TransactionV1Schema(_KeapSchema):
    """GET /rest/v1/transactions/{id}: only the orders it pays matter here. v1 gives
    `order_ids` as one comma-separated string and also lists `orders`; either may be empty."""

    id = _id(required=True)
    order_ids = fields.String(allow_none=True)
    orders = fields.List(fields.Dict(), allow_none=True)

    @post_load
    def to_order_ids(self, data: dict[str, Any], **kwargs: Any) -> tuple[str, ...]:
        ids = [part.strip() for part in (data.get("order_ids") or "").split(",")]
        ids += [str(order["id"]) for order in data.get("orders") or () if order.get("id")]
        return tuple(dict.fromkeys(order_id for order_id in ids if order_id))


# Built once: a marshmallow schema costs more to build than to load a document with, and loading
# leaves the instance as it was, so threads share these.
_TRANSACTION = TransactionV1Schema()
_ORDER = OrderV2Schema()
_ORDERS = OrderV2Schema(many=True)
_CURRENCY_VALUE = CurrencyValueSchema()
_ORDER_PAYMENTS = InvoiceOrderPaymentSchema(many=True)
_SALES_PAYMENTS = SalesPaymentSchema(many=True)


def load_transaction_order_ids(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The order ids a v1 transaction applies to, in Keap's order, each once."""
    return _TRANSACTION.load(data)


def load_keap_order(data: Mapping[str, Any], *, check_units: bool = False) -> KeapOrder:
    """GET /rest/v2/orders/{order_id}. Raises marshmallow.ValidationError on a bad shape and,
    with `check_units`, KeapAmountMismatch when an amount disagrees with its formatted_amount."""
    order = _ORDER.load(data)
    if check_units:
        check_order_units(order.id, data)
    return order


def load_order_page(data: Mapping[str, Any], *, check_units: bool = False) -> KeapPage[KeapOrder]:
    """GET /rest/v2/orders: `{"orders": [...], "next_page_token": ...}`."""
    page = _page(data, "orders", _ORDERS)
    if check_units:
        for order, raw in zip(page.items, data.get("orders") or [], strict=True):
            check_order_units(order.id, raw)
    return page


_ORDER_MONEY = ("total", "total_paid", "total_due", "refund_total")


def check_order_units(order_id: str, data: Mapping[str, Any]) -> None:
    """Each CurrencyValue of an order, read as minor units, must equal its formatted_amount."""
    for name in _ORDER_MONEY:
        _check_currency_value(f"order {order_id} {name}", data.get(name))
    for item in data.get("order_items") or []:
        where = f"order {order_id} item {item.get('id')} price_per_unit"
        _check_currency_value(where, item.get("price_per_unit"))


def _check_currency_value(what: str, raw: Any) -> None:
    if not isinstance(raw, Mapping):
        return
    money: _Money = _CURRENCY_VALUE.load(raw)
    digits = -int(minor_unit(money.currency or _FALLBACK_CURRENCY).as_tuple().exponent)
    check_formatted_amount(what, money.amount, raw.get("formatted_amount"), digits)


def load_order_payments_page(data: Mapping[str, Any]) -> KeapPage[KeapPayment]:
    """GET /rest/v2/orders/{order_id}/payments: `{"invoice_order_payments": [...], ...}`."""
    return _page(data, "invoice_order_payments", _ORDER_PAYMENTS)


def load_sales_payments_page(data: Mapping[str, Any]) -> KeapPage[KeapPayment]:
    """GET /rest/v2/sales/payments: `{"payments": [...], "next_page_token": ...}`."""
    return _page(data, "payments", _SALES_PAYMENTS)


def _page(data: Mapping[str, Any], key: str, schema: Schema) -> KeapPage[Any]:
    if not isinstance(data, Mapping):
        raise ValidationError("expected a JSON object")
    items = schema.load(data.get(key) or [])
    return KeapPage(items=tuple(items), next_page_token=data.get("next_page_token") or None)
