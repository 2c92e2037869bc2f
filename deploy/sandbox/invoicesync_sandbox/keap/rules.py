"""Keap's rules as pure functions: money units, order totals, filters, paging, plans, payments."""

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

DISCOUNT_TYPES = frozenset(
    {
        "DISCOUNT",
        "DISCOUNT_FREE_TRIAL",
        "DISCOUNT_ORDER_TOTAL",
        "DISCOUNT_PRODUCT",
        "DISCOUNT_PRODUCT_CATEGORY",
        "DISCOUNT_SHIPPING",
    }
)
WRITABLE_ITEM_TYPES = frozenset(
    {"PRODUCT", "SHIPPING", "TAX", "FINANCE_CHARGE", "SUBSCRIPTION", "OTHER", "FEE"}
    | DISCOUNT_TYPES
)
PRODUCT_ITEM_TYPES = frozenset({"PRODUCT", "SUBSCRIPTION"})
_CONDITION = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*)(?P<op>==|!=|<=|>=|<|>)(?P<value>.*)$")
CURRENCY_SYMBOLS = {
    "USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "GBP": "£", "EUR": "€", "JPY": "¥",
}  # fmt: skip
# ISO 4217 exponents that are not 2; every other currency counts cents.
MINOR_UNIT_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


class KeapValidationError(ValueError):
    """A request Keap would answer with 400; the message names the offending field."""


def check_currency_code(code: object) -> str:
    if not isinstance(code, str) or not _CURRENCY_CODE.match(code):
        raise KeapValidationError(f"not a three-letter ISO 4217 currency code: {code!r}")
    return code


def minor_unit_exponent(currency: str) -> int:
    return MINOR_UNIT_EXPONENTS.get(currency, 2)


def minor_unit(currency: str) -> Decimal:
    """The currency's smallest unit: 0.01 USD, 1 JPY, 0.001 KWD."""
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


def money(value: object, currency: str) -> Decimal:
    """A JSON number in major units, rounded half up to the currency's smallest unit."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise KeapValidationError(f"not a number: {value!r}")
    return Decimal(str(value)).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def from_minor_units(units: int, currency: str) -> Decimal:
    """An integer count of the currency's smallest unit (1250 = $12.50) in major units."""
    return Decimal(units).scaleb(-minor_unit_exponent(currency))


def to_minor_units(amount: Decimal, currency: str) -> int:
    exponent = minor_unit_exponent(currency)
    return int(amount.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def currency_value(amount: Decimal, currency: str, *, major_units: bool = False) -> dict:
    """Keap's CurrencyValue: `amount` in the currency's smallest unit, plus a formatted string.

    `major_units` presents `amount` in whole currency units instead, the way a reader that
    doubts the spec fears Keap might (the formatted string stays right).
    """
    exponent = minor_unit_exponent(currency)
    minor = to_minor_units(amount, currency)
    if major_units:
        minor = int(amount) if amount == amount.to_integral_value() else float(amount)
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    return {
        "amount": minor,
        "currency_code": currency,
        "formatted_amount": f"{sign}{symbol}{abs(amount):,.{exponent}f}",
    }


def line_amount(item_type: str, quantity: int, price_per_unit: Decimal) -> Decimal:
    """What a line adds to the order total; discount lines always subtract."""
    # Exact: the unit price is already in the currency's smallest unit and quantity is whole.
    amount = price_per_unit * quantity
    return -abs(amount) if item_type in DISCOUNT_TYPES else amount


def order_total(lines: list[tuple[str, int, Decimal]]) -> Decimal:
    return sum((line_amount(*line) for line in lines), Decimal(0))


def order_balance(total: Decimal, total_paid: Decimal) -> Decimal:
    return max(Decimal(0), total - total_paid)


def check_manual_payment(
    body: dict, balance: Decimal, configured_types: list[str], currency: str
) -> tuple[Decimal, str]:
    """Validate a RestCreatePaymentRequest recorded as a manual payment; return amount and type."""
    for required in ("payment_amount", "apply_to_commissions"):
        if required not in body:
            raise KeapValidationError(f"{required} is required")
    if not isinstance(body["apply_to_commissions"], bool):
        raise KeapValidationError("apply_to_commissions must be a boolean")
    amount = money(body["payment_amount"], currency)
    if body.get("payment_method_id"):
        raise KeapValidationError("payment_method_id is not a valid payment method for this order")
    method_type = body.get("payment_method_type")
    if not method_type:
        raise KeapValidationError("payment_method_id or payment_method_type is required")
    check_manual_payment_type(method_type, configured_types)
    check_payment_amount(amount, balance)
    return amount, method_type


def check_manual_payment_type(method_type: object, configured_types: list[str]) -> str:
    if not isinstance(method_type, str) or method_type not in configured_types:
        raise KeapValidationError(
            f"payment_method_type '{method_type}' is not a configured manual payment type"
        )
    return method_type


def check_payment_amount(amount: Decimal, balance: Decimal) -> None:
    """Keap refuses a payment above the order's balance, so an order is never overpaid."""
    if amount <= 0:
        raise KeapValidationError("payment_amount must be greater than 0")
    if amount > balance:
        raise KeapValidationError(
            f"payment_amount {amount} exceeds the current balance of the order ({balance})"
        )


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str


def parse_filter(text: str | None, allowed: dict[str, frozenset[str]]) -> list[Condition]:
    """Parse `a==1;b>2` against {field: allowed operators}; unknown fields or operators fail."""
    if not text:
        return []
    conditions = []
    for part in text.split(";"):
        match = _CONDITION.match(part.strip())
        if match is None:
            raise KeapValidationError(f"Invalid filter: {part}")
        field, op, value = match["field"], match["op"], match["value"]
        if field not in allowed:
            raise KeapValidationError(f"Invalid filter field: {field}")
        if op not in allowed[field]:
            raise KeapValidationError(f"Invalid operator {op} for filter field: {field}")
        conditions.append(Condition(field, op, value))
    return conditions


def compare(actual: object, op: str, expected: object) -> bool:
    if actual is None:
        return op == "!="
    return {
        "==": actual == expected,
        "!=": actual != expected,
        "<": actual < expected,
        "<=": actual <= expected,
        ">": actual > expected,
        ">=": actual >= expected,
    }[op]


def wildcard_match(actual: str | None, pattern: str) -> bool:
    if actual is None:
        return False
    if pattern.endswith("*"):
        return actual.lower().startswith(pattern[:-1].lower())
    return actual.lower() == pattern.lower()


def parse_time(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise KeapValidationError(f"{field} must be an ISO-8601 date-time") from exc
    if parsed.tzinfo is None:
        raise KeapValidationError(f"{field} must include a time zone")
    return parsed


def parse_order_by(text: str | None, allowed: frozenset[str], default: str) -> tuple[str, bool]:
    """`field [asc|desc]` → (field, descending)."""
    if not text:
        return default, False
    parts = text.replace(",", " ").split()
    field = parts[0]
    direction = parts[1].lower() if len(parts) > 1 else "asc"
    if field not in allowed or direction not in ("asc", "desc") or len(parts) > 2:
        raise KeapValidationError(f"Invalid order_by: {text}")
    return field, direction == "desc"


def page_window(
    page_size: str | None, page_token: str | None, default: int = 50
) -> tuple[int, int]:
    """(offset, size) from Keap's `page_size` (0 = default, max 1000) and opaque `page_token`."""
    try:
        size = int(page_size) if page_size else 0
    except ValueError as exc:
        raise KeapValidationError("page_size must be an integer") from exc
    if size < 0 or size > 1000:
        raise KeapValidationError("page_size must be between 0 and 1000")
    offset = 0
    if page_token:
        try:
            offset = int(base64.urlsafe_b64decode(page_token.encode()).decode().split(":")[1])
        except (ValueError, IndexError) as exc:
            raise KeapValidationError("Invalid page_token") from exc
    return offset, size or default


def next_page_token(offset: int, size: int, total: int) -> str:
    if offset + size >= total:
        return ""
    return base64.urlsafe_b64encode(f"offset:{offset + size}".encode()).decode()


@dataclass(frozen=True)
class PlanItem:
    due_date: date
    amount_due: Decimal
    amount_paid: Decimal


def payment_plan_items(
    total: Decimal,
    total_paid: Decimal,
    *,
    number_of_payments: int,
    days_between_payments: int,
    plan_start_date: date,
    currency: str,
    initial_payment_amount: Decimal = Decimal(0),
    initial_payment_date: date | None = None,
) -> list[PlanItem]:
    """Split the order total into the scheduled items; payments fill them oldest first."""
    schedule: list[tuple[date, Decimal]] = []
    remaining = total
    if initial_payment_amount > 0:
        schedule.append((initial_payment_date or plan_start_date, initial_payment_amount))
        remaining -= initial_payment_amount
    count = max(1, number_of_payments)
    share = (remaining / count).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
    for index in range(count):
        amount = share if index < count - 1 else remaining - share * (count - 1)
        schedule.append((plan_start_date + timedelta(days=days_between_payments * index), amount))
    items, unallocated = [], total_paid
    for due, amount in schedule:
        paid = min(amount, max(Decimal(0), unallocated))
        unallocated -= paid
        items.append(PlanItem(due, amount, paid))
    return items
