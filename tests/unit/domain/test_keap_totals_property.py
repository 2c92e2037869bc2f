"""Property: whatever Keap order arrives, the canonical lines and tax reproduce Keap's total.

The model of how Keap computes an order total (used to generate the orders):
- every item's amount is quantity × price_per_unit, rounded half up to the currency's minor
  unit (exact when the price comes as an integer count of minor units, as v2 sends it);
- PRODUCT, SERVICE, UPSELL, SUBSCRIPTION, SHIPPING, TAX, FINANCE_CHARGE, FEE, TIP and OTHER
  items add their amount; DISCOUNT* items subtract the magnitude of their `discount` value
  (whatever sign their price has); a product's own `discount` is subtracted as well;
- the total is the sum of those amounts, tax included (tax-exclusive pricing).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from invoicesync.domain.canonical import Destination, LineKind
from invoicesync.domain.keap_order import KeapContact, KeapItemType, KeapOrder, KeapOrderItem
from invoicesync.domain.keap_to_canonical import canonical_invoice_from_keap_order
from invoicesync.domain.money import minor_unit, to_cents
from invoicesync.domain.tenant_settings import TenantSettings
from tests.unit.domain import keap_corpus as corpus

SETTINGS = TenantSettings(Destination.XERO)
CURRENCIES = st.sampled_from(["USD", "AUD", "JPY", "KWD"])
ADDING = [
    "PRODUCT",
    "SERVICE",
    "UPSELL",
    "SUBSCRIPTION",
    "SHIPPING",
    "TAX",
    "FINANCE_CHARGE",
    "FEE",
    "TIP",
    "OTHER",
]
DISCOUNTS = ["DISCOUNT", "DISCOUNT_ORDER_TOTAL", "DISCOUNT_PRODUCT", "DISCOUNT_SHIPPING"]


@st.composite
def keap_order_json(draw):
    """An OrderV2 as Keap sends it, its total computed by the model above (minor units)."""
    currency = draw(CURRENCIES)
    items, total = [], 0
    for index in range(draw(st.integers(1, 8))):
        item_type = draw(st.sampled_from(ADDING + DISCOUNTS))
        quantity = draw(st.integers(1, 50))
        price = draw(st.integers(0, 1_000_000))
        extra = {}
        if item_type in DISCOUNTS:
            magnitude = draw(st.integers(0, 50_000))
            extra["discount"] = corpus.money(magnitude, currency)
            price = draw(st.sampled_from([magnitude, -magnitude]))
            quantity = 1
            total -= magnitude
        else:
            total += quantity * price
            if item_type == "PRODUCT" and draw(st.booleans()):
                own_discount = draw(st.integers(0, quantity * price))
                extra["discount"] = corpus.money(own_discount, currency)
                total -= own_discount
        items.append(
            corpus.item(str(index), item_type, f"Item {index}", price, quantity, currency, **extra)
        )
    return corpus.order_json(items, total, currency=currency)


@given(keap_order_json())
def test_canonical_lines_plus_tax_equal_keaps_total_to_the_cent(data):
    order = corpus.load(data)

    invoice = canonical_invoice_from_keap_order(order, SETTINGS, "t-1")

    non_tax = sum(line.line_amount for line in invoice.lines if line.kind is not LineKind.TAX)
    assert non_tax + invoice.totals.tax == order.total == invoice.totals.total
    assert invoice.totals.subtotal == non_tax
    assert sum(line.line_amount for line in invoice.lines) == order.total


@st.composite
def keap_order_with_fractional_prices(draw):
    """Prices finer than the minor unit (as v1 doubles allow); Keap rounds each line."""
    currency = draw(CURRENCIES)
    quantum = minor_unit(currency)
    items, total = [], Decimal(0)
    for index in range(draw(st.integers(1, 8))):
        quantity = Decimal(draw(st.integers(1, 25)))
        price = Decimal(draw(st.integers(0, 10_000_000))).scaleb(-4) * quantum * 100
        item_type = draw(st.sampled_from([KeapItemType.PRODUCT, KeapItemType.SHIPPING]))
        items.append(KeapOrderItem(str(index), item_type, f"Item {index}", quantity, price))
        total += to_cents(quantity * price, currency)
    return KeapOrder(
        id="1",
        contact=KeapContact(id="7"),
        items=tuple(items),
        currency=currency,
        order_time=datetime(2024, 5, 21, 12, tzinfo=UTC),
        total=total,
    )


@given(keap_order_with_fractional_prices())
def test_each_line_is_rounded_once_and_the_lines_add_up_to_keaps_total(order):
    invoice = canonical_invoice_from_keap_order(order, SETTINGS, "t-1")

    quantum = minor_unit(invoice.currency)
    assert all(line.line_amount == line.line_amount.quantize(quantum) for line in invoice.lines)
    assert sum(line.line_amount for line in invoice.lines) == order.total
