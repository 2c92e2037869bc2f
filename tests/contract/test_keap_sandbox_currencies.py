"""Keap stand-in money in each currency's own minor unit, read back by the Keap client's schemas."""

from decimal import Decimal

import pytest

from invoicesync.clients.keap_schemas import load_keap_order, load_order_payments_page
from invoicesync_sandbox.keap.app import create_app
from tests.contract.test_keap_sandbox_api import assert_matches_spec

API = "/crm/rest/v2"


@pytest.fixture
def app():
    return create_app()


def _order_in(client, auth, currency: str, product_price: int, shipping: float) -> dict:
    """Two of a product priced in minor units, plus a shipping line priced in major units."""
    assert client.put("/_sandbox/keap/currency", json={"currency": currency}).status_code == 200
    contact = client.post(f"{API}/contacts", json={"given_name": "Ann"}, headers=auth)
    product = client.post(
        f"{API}/products",
        json={"name": "Widget", "sku": "W-1", "price": product_price, "short_description": "w"},
        headers=auth,
    )
    assert product.status_code == 201
    body = {
        "contact_id": contact.get_json()["id"],
        "order_title": f"Order in {currency}",
        "order_time": "2026-05-01T10:00:00Z",
        "order_type": "OFFLINE",
        "order_items": [
            {"product_id": product.get_json()["id"], "quantity": 2},
            {
                "item_type": "SHIPPING",
                "name": "Shipping",
                "quantity": 1,
                "price_per_unit": shipping,
            },
        ],
    }
    created = client.post(f"{API}/orders", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


CASES = [
    # currency, product price (minor units), shipping (major), total (minor), total, formatted
    ("USD", 2500, 5.5, 5550, Decimal("55.50"), "$55.50"),
    ("JPY", 2500, 550, 5550, Decimal("5550"), "¥5,550"),
    ("KWD", 2500, 1.125, 6125, Decimal("6.125"), "KWD 6.125"),
]


@pytest.mark.parametrize(("currency", "price", "shipping", "minor", "total", "formatted"), CASES)
def test_order_amounts_count_the_currencys_minor_unit_and_the_client_reads_them_back(
    client, auth, currency, price, shipping, minor, total, formatted
):
    order = _order_in(client, auth, currency, price, shipping)
    assert_matches_spec(order, "OrderV2")
    assert order["total"] == {
        "amount": minor,
        "currency_code": currency,
        "formatted_amount": formatted,
    }
    assert order["order_items"][0]["price_per_unit"]["amount"] == price
    loaded = load_keap_order(order)
    assert (loaded.currency, loaded.total, loaded.total_due) == (currency, total, total)
    assert sum(item.price_per_unit * item.quantity for item in loaded.items) == total


@pytest.mark.parametrize(
    ("currency", "paid", "paid_minor", "due_minor"),
    [("USD", 10.25, 1025, 4525), ("JPY", 1000, 1000, 4550), ("KWD", 1.125, 1125, 5000)],
)
def test_payment_in_major_units_moves_the_minor_unit_totals(
    client, auth, currency, paid, paid_minor, due_minor
):
    order = _order_in(
        client, auth, currency, 2500, {"USD": 5.5, "JPY": 550, "KWD": 1.125}[currency]
    )
    body = {"payment_amount": paid, "apply_to_commissions": False, "payment_method_type": "Cash"}
    created = client.post(f"{API}/orders/{order['id']}/payments", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    after = client.get(f"{API}/orders/{order['id']}", headers=auth).get_json()
    assert_matches_spec(after, "OrderV2")
    assert (after["total_paid"]["amount"], after["total_due"]["amount"]) == (paid_minor, due_minor)
    rows = client.get(f"{API}/orders/{order['id']}/payments", headers=auth).get_json()
    assert_matches_spec(rows, "ListOrderPaymentsResponse")
    assert [p.amount for p in load_order_payments_page(rows).items] == [Decimal(str(paid))]
    assert load_keap_order(after).total_paid == Decimal(str(paid))


def test_yen_amounts_below_one_yen_round_half_up_to_whole_yen(client, auth):
    order = _order_in(client, auth, "JPY", 100, 10.5)
    assert order["order_items"][1]["price_per_unit"] == {
        "amount": 11,
        "currency_code": "JPY",
        "formatted_amount": "¥11",
    }
    assert order["total"]["amount"] == 211


def test_products_and_orders_keep_the_currency_they_were_made_in(client, auth):
    dollars = _order_in(client, auth, "USD", 2500, 5.5)
    client.put("/_sandbox/keap/currency", json={"currency": "JPY"})
    again = client.get(f"{API}/orders/{dollars['id']}", headers=auth).get_json()
    assert again["total"] == dollars["total"]
    product = client.get(f"{API}/products/1", headers=auth).get_json()
    assert product["price"] == {
        "amount": 2500,
        "currency_code": "USD",
        "formatted_amount": "$25.00",
    }
    client.post("/_sandbox/reset")
    assert client.get("/_sandbox/keap/currency").get_json() == {"currency": "USD"}


def test_currency_must_be_a_three_letter_code(client):
    response = client.put("/_sandbox/keap/currency", json={"currency": "yen"})
    assert response.status_code == 400
    assert client.get("/_sandbox/keap/currency").get_json() == {"currency": "USD"}
