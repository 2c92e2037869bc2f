"""Keap's rules as pure functions: money units, order totals, filters, paging, plans, payments."""

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
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
CURRENCY_SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "GBP": "£", "EUR": "€"}


class KeapValidationError(ValueError):
    """A request Keap would answer with 400; the message names the offending field."""


def money(value: object) -> Decimal:
    """A JSON number (major units) as a cent-quantised Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise KeapValidationError(f"not a number: {value!r}")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def currency_value(amount: Decimal, currency: str) -> dict:
    """Keap's CurrencyValue: `amount` in the smallest currency unit, plus a formatted string."""
    minor = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency, "")
    return {
        "amount": minor,
        "currency_code": currency,
        "formatted_amount": f"{sign}{symbol}{abs(amount):,.2f}",
    }


def line_amount(item_type: str, quantity: int, price_per_unit: Decimal) -> Decimal:
    """What a line adds to the order total; discount lines always subtract."""
    amount = (price_per_unit * quantity).quantize(CENT)
    return -abs(amount) if item_type in DISCOUNT_TYPES else amount


def order_total(lines: list[tuple[str, int, Decimal]]) -> Decimal:
    return sum((line_amount(*line) for line in lines), Decimal("0.00"))


def order_balance(total: Decimal, total_paid: Decimal) -> Decimal:
    return max(Decimal("0.00"), total - total_paid)


def check_manual_payment(
    body: dict, balance: Decimal, configured_types: list[str]
) -> tuple[Decimal, str]:
    """Validate a RestCreatePaymentRequest recorded as a manual payment; return amount and type."""
    for required in ("payment_amount", "apply_to_commissions"):
        if required not in body:
            raise KeapValidationError(f"{required} is required")
    if not isinstance(body["apply_to_commissions"], bool):
        raise KeapValidationError("apply_to_commissions must be a boolean")
    amount = money(body["payment_amount"])
    if body.get("payment_method_id"):
        raise KeapValidationError("payment_method_id is not a valid payment method for this order")
    method_type = body.get("payment_method_type")
    if not method_type:
        raise KeapValidationError("payment_method_id or payment_method_type is required")
    if method_type not in configured_types:
        raise KeapValidationError(
            f"payment_method_type '{method_type}' is not a configured manual payment type"
        )
    if amount <= 0:
        raise KeapValidationError("payment_amount must be greater than 0")
    if amount > balance:
        raise KeapValidationError(
            f"payment_amount {amount} exceeds the current balance of the order ({balance})"
        )
    return amount, method_type


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
    initial_payment_amount: Decimal = Decimal("0.00"),
    initial_payment_date: date | None = None,
) -> list[PlanItem]:
    """Split the order total into the scheduled items; payments fill them oldest first."""
    schedule: list[tuple[date, Decimal]] = []
    remaining = total
    if initial_payment_amount > 0:
        schedule.append((initial_payment_date or plan_start_date, initial_payment_amount))
        remaining -= initial_payment_amount
    count = max(1, number_of_payments)
    share = (remaining / count).quantize(CENT, rounding=ROUND_HALF_UP)
    for index in range(count):
        amount = share if index < count - 1 else remaining - share * (count - 1)
        schedule.append((plan_start_date + timedelta(days=days_between_payments * index), amount))
    items, unallocated = [], total_paid
    for due, amount in schedule:
        paid = min(amount, max(Decimal("0.00"), unallocated))
        unallocated -= paid
        items.append(PlanItem(due, amount, paid))
    return items
