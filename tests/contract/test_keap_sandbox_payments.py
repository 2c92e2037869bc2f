"""Keap stand-in sales payments, split payments, the balance cap, QuickBooks orders and deletes."""

from urllib.parse import urlsplit

import pytest

from invoicesync.clients.keap import KeapClient
from invoicesync.clients.keap_schemas import load_keap_order, load_sales_payments_page
from invoicesync.clients.provider_http import ProviderRejected
from invoicesync.domain.keap_order import KeapSourceType
from invoicesync.settings import ProviderEndpoints
from invoicesync_sandbox.keap.app import create_app
from tests.contract.test_keap_sandbox_api import assert_matches_spec

API = "/crm/rest/v2"
PAYMENTS = f"{API}/sales/payments"


@pytest.fixture
def app():
    return create_app()


def _contact(client, auth) -> str:
    response = client.post(f"{API}/contacts", json={"given_name": "Ann"}, headers=auth)
    return response.get_json()["id"]


def _order(client, auth, contact_id: str, amount: float = 50.0) -> dict:
    body = {
        "contact_id": contact_id,
        "order_title": "Services",
        "order_time": "2026-05-01T10:00:00Z",
        "order_type": "OFFLINE",
        "order_items": [
            {"item_type": "OTHER", "name": "Work", "quantity": 1, "price_per_unit": amount}
        ],
    }
    response = client.post(f"{API}/orders", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _pay(client, auth, order_id: str, amount: float, when: str = "2026-05-02T00:00:00Z"):
    body = {
        "payment_amount": amount,
        "apply_to_commissions": False,
        "payment_method_type": "Check",
        "payment_time": when,
        "notes": f"paid {amount}",
    }
    return client.post(f"{API}/orders/{order_id}/payments", json=body, headers=auth)


def _payments(client, auth, **query) -> dict:
    response = client.get(PAYMENTS, query_string=query, headers=auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert_matches_spec(body, "ListPayments")
    return body


def test_payment_id_from_an_order_payment_resolves_to_its_order_as_the_client_asks(client, auth):
    order = _order(client, auth, _contact(client, auth))
    result = _pay(client, auth, order["id"], 20.0).get_json()
    listed = _payments(client, auth, filter=f"id=={result['id']}", page_size=1)
    [payment] = listed["payments"]
    assert payment["order_ids"] == [order["id"]]
    assert (payment["amount"], payment["type"], payment["note"]) == (20.0, "Check", "paid 20.0")
    assert payment["contact_id"] == order["contact"]["id"]
    assert payment["payment_time"] == "2026-05-02T00:00:00Z"
    row = client.get(f"{API}/orders/{order['id']}/payments", headers=auth).get_json()
    assert row["invoice_order_payments"][0]["payment_id"] == result["id"]
    [loaded] = load_sales_payments_page(listed).items
    assert loaded.order_ids == (order["id"],)


class _InProcessHttp:
    """What KeapClient needs of ProviderHttp, answered by the stand-in without a network."""

    def __init__(self, client, auth) -> None:
        self._client, self._auth = client, auth

    def request(self, method, url, tenant_id, *, params=None, json=None):
        response = self._client.open(
            urlsplit(url).path, method=method, query_string=params, json=json, headers=self._auth
        )
        if response.status_code >= 400:  # as ProviderHttp answers any other 4xx
            raise ProviderRejected(
                f"{response.status_code}",
                status=response.status_code,
                body=response.get_json(),
                request_id=None,
            )
        return type("Answer", (), {"json": lambda _self: response.get_json()})()


def test_keap_client_resolves_payment_hook_ids_through_the_stand_in(client, auth):
    ann = _contact(client, auth)
    first, second = _order(client, auth, ann), _order(client, auth, ann)
    paid = _pay(client, auth, first["id"], 5.0).get_json()
    single, transaction = paid["id"], paid["transaction_id"]
    allocations = [
        {"order_id": first["id"], "amount": 45.0},
        {"order_id": second["id"], "amount": 1.0},
    ]
    split = client.post(
        "/_sandbox/keap/payments", json={"payment_method_type": "Cash", "allocations": allocations}
    ).get_json()["id"]
    endpoints = ProviderEndpoints("http://keap.test/crm", "", "", "", "")
    keap = KeapClient(_InProcessHttp(client, auth), endpoints)
    assert keap.find_order_ids_for_payment("t1", single) == (first["id"],)
    assert keap.find_order_ids_for_payment("t1", transaction) == (first["id"],)
    assert keap.find_order_ids_for_payment("t1", split) == (first["id"], second["id"])
    assert keap.find_order_ids_for_payment("t1", "999999") == ()


def test_unknown_payment_id_lists_nothing_and_a_bad_id_is_a_keap_400(client, auth):
    assert _payments(client, auth, filter="id==424242") == {"payments": [], "next_page_token": ""}
    bad = client.get(PAYMENTS, query_string={"filter": "id==abc"}, headers=auth)
    assert bad.status_code == 400
    assert_matches_spec(bad.get_json(), "Error")
    unknown = client.get(PAYMENTS, query_string={"filter": "status==PAID"}, headers=auth)
    assert unknown.status_code == 400 and "status" in unknown.get_json()["message"]
    no_not_equal = client.get(PAYMENTS, query_string={"filter": "id!=1"}, headers=auth)
    assert no_not_equal.status_code == 400


def test_sales_payments_filter_by_ids_orders_contact_amount_and_time_then_page(client, auth):
    ann, bob = _contact(client, auth), _contact(client, auth)
    first, second, third = (
        _order(client, auth, ann),
        _order(client, auth, ann),
        _order(client, auth, bob),
    )
    p1 = _pay(client, auth, first["id"], 10.0, "2026-05-02T00:00:00Z").get_json()["id"]
    p2 = _pay(client, auth, second["id"], 30.0, "2026-05-03T00:00:00Z").get_json()["id"]
    p3 = _pay(client, auth, third["id"], 25.5, "2026-05-04T00:00:00Z").get_json()["id"]

    def ids(**query) -> list[str]:
        return [p["id"] for p in _payments(client, auth, **query)["payments"]]

    assert ids() == [p1, p2, p3]
    assert ids(filter=f"ids=={p1},{p3}") == [p1, p3]
    assert ids(filter=f"id>{p1}") == [p2, p3]
    assert ids(filter=f"order_id=={second['id']}") == [p2]
    assert ids(filter=f"order_ids=={first['id']},{third['id']}") == [p1, p3]
    assert ids(filter=f"contact_id=={ann}") == [p1, p2]
    assert ids(filter="amount>=25.5") == [p2, p3]
    assert ids(filter="since_time==2026-05-03T00:00:00Z;until_time==2026-05-03T23:59:59Z") == [p2]
    assert ids(filter="merchant_account_type==STRIPE") == []
    assert ids(order_by="amount desc") == [p2, p3, p1]
    page = _payments(client, auth, page_size=2, order_by="payment_time desc")
    assert [p["id"] for p in page["payments"]] == [p3, p2] and page["next_page_token"]
    rest = _payments(client, auth, page_size=2, order_by="payment_time desc",
                     page_token=page["next_page_token"])  # fmt: skip
    assert [p["id"] for p in rest["payments"]] == [p1] and rest["next_page_token"] == ""


def test_one_payment_split_over_two_orders_resolves_to_both(client, auth):
    ann = _contact(client, auth)
    first, second = _order(client, auth, ann, 50.0), _order(client, auth, ann, 30.0)
    body = {
        "payment_method_type": "Cash",
        "allocations": [
            {"order_id": first["id"], "amount": 50.0},
            {"order_id": second["id"], "amount": 10.0},
        ],
        "payment_time": "2026-05-05T00:00:00Z",
    }
    created = client.post("/_sandbox/keap/payments", json=body)
    assert created.status_code == 201, created.get_json()
    assert_matches_spec(created.get_json(), "Payment")
    [payment] = _payments(client, auth, filter=f"id=={created.get_json()['id']}")["payments"]
    assert (payment["amount"], payment["order_ids"]) == (60.0, [first["id"], second["id"]])
    paid = client.get(f"{API}/orders/{first['id']}", headers=auth).get_json()
    part = client.get(f"{API}/orders/{second['id']}", headers=auth).get_json()
    assert (paid["status"], part["total_due"]["amount"]) == ("PAID", 2000)
    rows = client.get(f"{API}/orders/{second['id']}/payments", headers=auth).get_json()
    assert [(r["amount"], r["payment_id"]) for r in rows["invoice_order_payments"]] == [
        (10.0, payment["id"])
    ]


def test_split_payment_is_refused_across_contacts_or_beyond_a_balance(client, auth):
    first = _order(client, auth, _contact(client, auth), 50.0)
    other = _order(client, auth, _contact(client, auth), 50.0)
    for allocations, words in [
        ([{"order_id": first["id"], "amount": 10}, {"order_id": other["id"], "amount": 10}],
         "one contact"),
        ([{"order_id": first["id"], "amount": 50.01}], "balance"),
        ([{"order_id": "999", "amount": 1}], "order_id"),
    ]:  # fmt: skip
        body = {"payment_method_type": "Cash", "allocations": allocations}
        response = client.post("/_sandbox/keap/payments", json=body)
        assert response.status_code == 400 and words in response.get_json()["error"]
    assert _payments(client, auth)["payments"] == []


def test_keap_never_lets_an_order_be_overpaid(client, auth):
    order = _order(client, auth, _contact(client, auth), 50.0)
    assert _pay(client, auth, order["id"], 30.0).status_code == 201
    over = _pay(client, auth, order["id"], 20.01)
    assert over.status_code == 400 and "balance" in over.get_json()["message"]
    assert _pay(client, auth, order["id"], 20.0).status_code == 201
    paid = client.get(f"{API}/orders/{order['id']}", headers=auth).get_json()
    assert (paid["total_paid"]["amount"], paid["total_due"]["amount"]) == (5000, 0)
    assert _pay(client, auth, order["id"], 0.01).status_code == 400


def test_order_marked_as_made_by_keaps_quickbooks_sync_reads_as_quickbooks(client, auth):
    order = _order(client, auth, _contact(client, auth))
    assert order["source_type"] == "API"
    marked = client.put(
        f"/_sandbox/keap/orders/{order['id']}/source_type", json={"source_type": "QUICKBOOKS"}
    )
    assert marked.status_code == 200
    fetched = client.get(f"{API}/orders/{order['id']}", headers=auth).get_json()
    assert_matches_spec(fetched, "OrderV2")
    assert fetched["source_type"] == "QUICKBOOKS"
    assert fetched["modification_time"] >= order["modification_time"]
    assert load_keap_order(fetched).source_type is KeapSourceType.QUICKBOOKS
    refused = client.put(
        f"/_sandbox/keap/orders/{order['id']}/source_type", json={"source_type": "QBO_SYNC"}
    )
    assert refused.status_code == 400
    missing = client.put("/_sandbox/keap/orders/999/source_type", json={"source_type": "API"})
    assert missing.status_code == 404


def test_order_without_payments_deletes_and_one_with_payments_does_not(client, auth):
    contact = _contact(client, auth)
    unpaid, paid = _order(client, auth, contact), _order(client, auth, contact)
    _pay(client, auth, paid["id"], 5.0)
    assert client.delete(f"{API}/orders/{unpaid['id']}", headers=auth).status_code == 204
    assert client.get(f"{API}/orders/{unpaid['id']}", headers=auth).status_code == 404
    refused = client.delete(f"{API}/orders/{paid['id']}", headers=auth)
    assert refused.status_code == 400
    assert_matches_spec(refused.get_json(), "Error")
    assert client.get(f"{API}/orders/{paid['id']}", headers=auth).status_code == 200
