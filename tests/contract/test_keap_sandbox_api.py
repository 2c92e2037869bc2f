"""Contract tests: the Keap stand-in answers like Keap, validated against the official v2 spec."""

import base64
import copy
import json
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from jsonschema import Draft202012Validator

from invoicesync_sandbox.keap.app import create_app

SPEC_PATH = Path("/work/shared/specs/keap/keap_rest_v2.yml")
REPO_SPEC_PATH = (
    Path(__file__).resolve().parents[3] / "shared" / "specs" / "keap" / "keap_rest_v2.yml"
)
API = "/crm/rest/v2"


@cache
def _strict_components() -> dict:
    path = REPO_SPEC_PATH if REPO_SPEC_PATH.exists() else SPEC_PATH
    spec = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    components = copy.deepcopy(spec["components"])

    def close(node):
        # Extra fields would mean the stand-in invents names Keap does not send.
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(components)
    return components


def assert_matches_spec(instance: object, schema_name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _strict_components()}
    errors = sorted(Draft202012Validator(schema).iter_errors(instance), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


@pytest.fixture
def app():
    return create_app()


def _contact(client, auth) -> str:
    body = {
        "given_name": "Ann",
        "family_name": "Lee",
        "email_addresses": [{"email": "a@b.c", "field": "EMAIL1"}],
    }
    response = client.post(f"{API}/contacts", json=body, headers=auth)
    assert response.status_code == 201
    return response.get_json()["id"]


def _product(client, auth, sku="WDG-001", price=2500) -> str:
    body = {"name": "Widget", "sku": sku, "price": price, "short_description": "A widget"}
    response = client.post(f"{API}/products", json=body, headers=auth)
    assert response.status_code == 201
    return response.get_json()["id"]


def _order(client, auth, **overrides) -> dict:
    contact_id = _contact(client, auth)
    product_id = _product(client, auth)
    body = {
        "contact_id": contact_id,
        "order_title": "Order for Ann",
        "order_time": "2026-05-01T10:00:00Z",
        "order_type": "OFFLINE",
        "order_items": [
            {"product_id": product_id, "quantity": 2},
            {"item_type": "SHIPPING", "name": "Shipping", "quantity": 1, "price_per_unit": 5.0},
            {"item_type": "TAX", "name": "Sales tax", "quantity": 1, "price_per_unit": 4.5},
            {"item_type": "DISCOUNT", "name": "Promo", "quantity": 1, "price_per_unit": 9.5},
        ],
        **overrides,
    }
    response = client.post(f"{API}/orders", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_created_order_matches_spec_and_totals_lines_in_minor_units(client, auth):
    order = _order(client, auth)
    assert_matches_spec(order, "OrderV2")
    assert order["total"] == {"amount": 5000, "currency_code": "USD", "formatted_amount": "$50.00"}
    assert order["order_items"][0]["price_per_unit"]["amount"] == 2500
    assert order["order_items"][0]["product"]["sku"] == "WDG-001"
    assert order["invoice_id"] != order["id"]
    fetched = client.get(f"{API}/orders/{order['id']}", headers=auth).get_json()
    assert_matches_spec(fetched, "OrderV2")
    assert fetched["total"] == order["total"]


def test_an_order_can_present_the_units_the_inconsistent_spec_allows_for(client, auth):
    order = _order(client, auth)
    body = {"payment_amount": 20, "apply_to_commissions": False, "payment_method_type": "Cash"}
    client.post(f"{API}/orders/{order['id']}/payments", json=body, headers=auth)
    units = {"currency_values": "major", "order_payments": "minor"}
    assert (
        client.put(f"/_sandbox/keap/orders/{order['id']}/money_units", json=units).status_code
        == 200
    )

    fetched = client.get(f"{API}/orders/{order['id']}", headers=auth).get_json()
    rows = client.get(f"{API}/orders/{order['id']}/payments", headers=auth).get_json()

    # Major units break the spec's int64 type wherever cents show (4.5); whole amounts stay ints.
    assert fetched["total"] == {"amount": 50, "currency_code": "USD", "formatted_amount": "$50.00"}
    assert [row["amount"] for row in rows["invoice_order_payments"]] == [2000]
    refused = client.put(f"/_sandbox/keap/orders/{order['id']}/money_units", json={"x": "y"})
    assert refused.status_code == 400


def test_order_list_filters_sorts_and_pages(client, auth):
    first = _order(client, auth)
    second = _order(client, auth)
    by_invoice = client.get(
        f"{API}/orders",
        query_string={"filter": f"invoice_id=={second['invoice_id']}"},
        headers=auth,
    ).get_json()
    assert_matches_spec(by_invoice, "ListOrders")
    assert [o["id"] for o in by_invoice["orders"]] == [second["id"]]
    by_contact = client.get(
        f"{API}/orders",
        query_string={"filter": f"contact_id=={first['contact']['id']}"},
        headers=auth,
    ).get_json()
    assert [o["id"] for o in by_contact["orders"]] == [first["id"]]
    since = client.get(
        f"{API}/orders",
        query_string={
            "filter": "modified_since_time==2000-01-01T00:00:00Z",
            "order_by": "id desc",
            "page_size": 1,
        },
        headers=auth,
    ).get_json()
    assert [o["id"] for o in since["orders"]] == [second["id"]]
    rest = client.get(
        f"{API}/orders",
        query_string={
            "filter": "modified_since_time==2000-01-01T00:00:00Z",
            "order_by": "id desc",
            "page_size": 1,
            "page_token": since["next_page_token"],
        },
        headers=auth,
    ).get_json()
    assert [o["id"] for o in rest["orders"]] == [first["id"]] and rest["next_page_token"] == ""
    future = client.get(
        f"{API}/orders",
        query_string={"filter": "modified_since_time==2100-01-01T00:00:00Z"},
        headers=auth,
    ).get_json()
    assert future["orders"] == []


def test_unknown_filter_field_and_unknown_property_are_keap_400s(client, auth):
    response = client.get(f"{API}/orders", query_string={"filter": "colour==red"}, headers=auth)
    assert response.status_code == 400
    assert_matches_spec(response.get_json(), "Error")
    assert "colour" in response.get_json()["message"]
    created = client.post(
        f"{API}/products",
        json={"name": "x", "price": 1, "short_description": "y", "cost": 2},
        headers=auth,
    )
    assert created.status_code == 400
    assert created.get_json()["message"] == "Unrecognized property: cost"


def test_order_validation_names_the_missing_field(client, auth):
    contact_id = _contact(client, auth)
    body = {
        "contact_id": contact_id,
        "order_title": "t",
        "order_time": "2026-05-01T10:00:00Z",
        "order_type": "OFFLINE",
        "order_items": [{"quantity": 1}],
    }
    response = client.post(f"{API}/orders", json=body, headers=auth)
    assert response.status_code == 400
    assert "order_items[0].product_id" in response.get_json()["message"]
    del body["order_type"]
    assert (
        "order_type" in client.post(f"{API}/orders", json=body, headers=auth).get_json()["message"]
    )


def test_missing_order_is_a_keap_404(client, auth):
    response = client.get(f"{API}/orders/999", headers=auth)
    assert response.status_code == 404
    assert_matches_spec(response.get_json(), "Error")


def test_manual_payment_with_configured_type_records_and_pays_the_order(client, auth):
    order = _order(client, auth)
    client.put("/_sandbox/keap/payment_types", json={"payment_types": ["Check", "Xero Payment"]})
    body = {
        "payment_amount": 20.0,
        "apply_to_commissions": False,
        "payment_method_type": "Xero Payment",
        "notes": "xero:abc",
        "payment_time": "2026-05-02T00:00:00Z",
    }
    created = client.post(f"{API}/orders/{order['id']}/payments", json=body, headers=auth)
    assert created.status_code == 201
    assert_matches_spec(created.get_json(), "PaymentResult")
    assert created.get_json()["invoice_id"] == order["invoice_id"]
    listed = client.get(f"{API}/orders/{order['id']}/payments", headers=auth).get_json()
    assert_matches_spec(listed, "ListOrderPaymentsResponse")
    assert [(p["amount"], p["note"]) for p in listed["invoice_order_payments"]] == [
        (20.0, "xero:abc")
    ]
    client.post(
        f"{API}/orders/{order['id']}/payments", json={**body, "payment_amount": 30.0}, headers=auth
    )
    paid = client.get(f"{API}/orders/{order['id']}", headers=auth).get_json()
    assert paid["status"] == "PAID"
    assert paid["total_paid"]["amount"] == 5000


def test_payment_with_unconfigured_type_is_rejected(client, auth):
    order = _order(client, auth)
    body = {"payment_amount": 1.0, "apply_to_commissions": False, "payment_method_type": "Bitcoin"}
    response = client.post(f"{API}/orders/{order['id']}/payments", json=body, headers=auth)
    assert response.status_code == 400
    assert_matches_spec(response.get_json(), "Error")
    assert "payment_method_type" in response.get_json()["message"]


def test_payment_over_the_balance_is_rejected(client, auth):
    order = _order(client, auth)
    body = {"payment_amount": 50.01, "apply_to_commissions": False, "payment_method_type": "Cash"}
    response = client.post(f"{API}/orders/{order['id']}/payments", json=body, headers=auth)
    assert response.status_code == 400
    assert "payment_amount" in response.get_json()["message"]
    listed = client.get(f"{API}/orders/{order['id']}/payments", headers=auth).get_json()
    assert listed["invoice_order_payments"] == []


def test_payment_plan_is_modelled_as_the_spec_shows(client, auth):
    order = _order(client, auth)
    plan = {
        "number_of_payments": 3,
        "days_between_payments": 30,
        "plan_start_date": "2026-06-01",
        "initial_payment_amount": 10.0,
        "initial_payment_date": "2026-05-15",
    }
    response = client.patch(
        f"{API}/orders/{order['id']}",
        query_string={"update_mask": "payment_plan"},
        json={"payment_plan": plan},
        headers=auth,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert_matches_spec(body, "OrderV2")
    items = body["payment_plan"]["payment_plan_items"]
    assert [i["due_date"] for i in items] == [
        "2026-05-15",
        "2026-06-01",
        "2026-07-01",
        "2026-07-31",
    ]
    assert sum(i["amount_due"]["amount"] for i in items) == 5000
    assert {i["status"] for i in items} == {"UNPAID_MANUAL"}


def test_contacts_and_products_match_spec(client, auth):
    contact_id = _contact(client, auth)
    contact = client.get(f"{API}/contacts/{contact_id}", headers=auth).get_json()
    assert_matches_spec(contact, "Contact")
    assert contact["given_name"] == "Ann"
    _product(client, auth, sku="A-1")
    product_id = _product(client, auth, sku="B-2", price=1250)
    product = client.get(f"{API}/products/{product_id}", headers=auth).get_json()
    assert_matches_spec(product, "RestV2Product_Detail")
    assert product["price"]["amount"] == 1250
    listed = client.get(
        f"{API}/products", query_string={"filter": "sku==B-2"}, headers=auth
    ).get_json()
    assert_matches_spec(listed, "ListProductsResponse_List")
    assert [p["id"] for p in listed["products"]] == [product_id]
    info = client.get(f"{API}/oauth/connect/userinfo", headers=auth).get_json()
    assert_matches_spec(info, "GetUserInfoResponse")
    assert info["tenant_id"] == "ab123"


def test_missing_bearer_and_expired_token_get_the_gateway_401(client, auth):
    missing = client.get(f"{API}/orders")
    assert missing.status_code == 401
    assert missing.get_json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"
    assert client.get(f"{API}/orders", headers=auth).status_code == 200
    client.post("/_sandbox/clock", json={"advance_seconds": 86401})
    expired = client.get(f"{API}/orders", headers=auth)
    assert expired.status_code == 401
    assert expired.get_json()["fault"]["faultstring"] == "Access Token expired"


def _basic(client_id="invoicesync-demo", secret="demo-secret") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_authorize_then_code_exchange_then_refresh_rotates(client):
    redirect = "http://localhost:8000/keap/callback"
    response = client.get(
        "/app/oauth/authorize",
        query_string={
            "client_id": "invoicesync-demo",
            "redirect_uri": redirect,
            "response_type": "code",
            "scope": "full",
            "state": "xyz",
        },
    )
    assert response.status_code == 302
    query = parse_qs(urlparse(response.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    form = {
        "client_id": "invoicesync-demo",
        "client_secret": "demo-secret",
        "code": query["code"][0],
        "grant_type": "authorization_code",
        "redirect_uri": redirect,
    }
    tokens = client.post("/token", data=form).get_json()
    assert tokens["expires_in"] == 86400 and tokens["token_type"] == "bearer"
    assert client.post("/token", data=form).get_json()["error"] == "invalid_grant"
    refreshed = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=_basic(),
    )
    new_tokens = refreshed.get_json()
    assert refreshed.status_code == 200 and new_tokens["refresh_token"] != tokens["refresh_token"]
    reused = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=_basic(),
    )
    assert reused.status_code == 400
    assert reused.get_json() == {
        "error": "invalid_request",
        "error_description": "Invalid Refresh Token",
    }
    api = client.get(
        f"{API}/orders", headers={"Authorization": f"Bearer {new_tokens['access_token']}"}
    )
    assert api.status_code == 200


def test_refresh_with_wrong_client_secret_is_refused(client, auth):
    token = client.post("/_sandbox/token", json={}).get_json()
    response = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        headers=_basic(secret="nope"),
    )
    assert response.status_code == 401


def test_throttle_answers_429_without_retry_after_and_sends_keap_headers(client, auth):
    client.put("/_sandbox/keap/limits", json={"throttle_per_minute": 2})
    ok = client.get(f"{API}/orders", headers=auth)
    assert ok.headers["x-keap-product-throttle-limit"] == "2"
    assert ok.headers["x-keap-product-throttle-available"] == "1"
    assert ok.headers["x-keap-product-quota-limit"] == "150000"
    assert "x-keap-tenant-throttle-available" in ok.headers
    client.get(f"{API}/orders", headers=auth)
    throttled = client.get(f"{API}/orders", headers=auth)
    assert throttled.status_code == 429
    assert "Retry-After" not in throttled.headers
    assert throttled.get_json() == {
        "code": "429",
        "message": "Quota Exceeded",
        "status": "Request Throttled",
        "details": None,
    }
    client.post("/_sandbox/clock", json={"advance_seconds": 61})
    assert client.get(f"{API}/orders", headers=auth).status_code == 200


def test_the_spike_arrest_answers_429_to_a_second_call_within_a_second(client, auth):
    """keap.md §6: about 25 calls a second per client, no headers; here shrunk to 1."""
    client.put("/_sandbox/keap/limits", json={"spike_arrest_per_second": 1})
    refused = []
    for _ in range(5):
        client.post("/_sandbox/clock", json={"advance_seconds": 2})  # a fresh second
        started = time.monotonic()
        first = client.get(f"{API}/orders", headers=auth)
        second = client.get(f"{API}/orders", headers=auth)
        assert first.status_code == 200
        if time.monotonic() - started < 1:  # else the pair did not fall in one second
            refused.append(second)
    assert refused, "no two calls fell within one second"
    for response in refused:
        assert response.status_code == 429
        assert "Retry-After" not in response.headers
        assert response.get_json()["status"] == "Request Throttled"
    assert client.put("/_sandbox/keap/limits", json={}).get_json()["spike_arrest_per_second"] == 1


class _HookReceiver(BaseHTTPRequestHandler):
    echo = True
    status = 200
    events: list[dict] = []
    arrived = threading.Event()

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        secret = self.headers.get("X-Hook-Secret")
        self.send_response(200 if secret else type(self).status)
        if secret and type(self).echo:
            self.send_header("X-Hook-Secret", secret)
        self.end_headers()
        if not secret:
            type(self).events.append(json.loads(body))
            type(self).arrived.set()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _HookReceiver.echo, _HookReceiver.status, _HookReceiver.events = True, 200, []
    _HookReceiver.arrived = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HookReceiver)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/keap/hooks/t1/secret", _HookReceiver
    server.shutdown()
    server.server_close()


def _subscribe(client, auth, url, event_key="order.add") -> dict:
    response = client.post(
        "/crm/rest/v1/hooks", json={"eventKey": event_key, "hookUrl": url}, headers=auth
    )
    assert response.status_code == 200
    return response.get_json()


def test_hook_handshake_verifies_only_when_the_secret_is_echoed(client, auth, receiver):
    url, handler = receiver
    handler.echo = False
    hook = _subscribe(client, auth, url)
    assert hook["status"] == "Unverified" and set(hook) == {"key", "eventKey", "hookUrl", "status"}
    handler.echo = True
    verified = client.post(f"/crm/rest/v1/hooks/{hook['key']}/verify", headers=auth).get_json()
    assert verified["status"] == "Verified"
    assert "order.add" in client.get("/crm/rest/v1/hooks/event_keys", headers=auth).get_json()
    assert client.delete(f"/crm/rest/v1/hooks/{hook['key']}", headers=auth).status_code == 204
    assert client.get("/crm/rest/v1/hooks", headers=auth).get_json() == []


def test_verified_hook_receives_a_batched_unsigned_delivery(app, client, auth, receiver):
    url, handler = receiver
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 0.2})
    _subscribe(client, auth, url)
    first, second = _order(client, auth), _order(client, auth)
    assert handler.arrived.wait(5)
    app.extensions["sandbox_state"].webhooks.flush(5)
    assert len(handler.events) == 1
    event = handler.events[0]
    assert event["event_key"] == "order.add"
    assert [k["id"] for k in event["object_keys"]] == [int(first["id"]), int(second["id"])]
    assert all(set(k) == {"apiUrl", "id", "timestamp"} for k in event["object_keys"])
    assert event["object_keys"][0]["timestamp"].endswith("Z")


def test_unverified_hook_gets_no_delivery(app, client, auth, receiver):
    url, handler = receiver
    handler.echo = False
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 0})
    _subscribe(client, auth, url)
    _order(client, auth)
    client.post("/_sandbox/keap/hooks/fire")
    app.extensions["sandbox_state"].webhooks.flush(5)
    assert handler.events == []


def test_dropped_and_duplicated_delivery_faults_apply_to_hooks(app, client, auth, receiver):
    url, handler = receiver
    state = app.extensions["sandbox_state"]
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 30, "webhook_drop_rate": 1.0})
    _subscribe(client, auth, url)
    _order(client, auth)
    client.post("/_sandbox/keap/hooks/fire")
    state.webhooks.flush(5)
    assert handler.events == []
    assert client.get("/_sandbox/webhooks/deliveries").get_json()[0]["dropped"] is True
    client.put("/_sandbox/faults", json={"webhook_drop_rate": 0.0, "webhook_duplicate_rate": 1.0})
    _order(client, auth)
    client.post("/_sandbox/keap/hooks/fire")
    state.webhooks.flush(5)
    assert len(handler.events) == 2 and handler.events[0] == handler.events[1]


def test_hook_answering_410_goes_inactive(app, client, auth, receiver):
    url, handler = receiver
    handler.status = 410
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 0})
    hook = _subscribe(client, auth, url)
    _order(client, auth)
    client.post("/_sandbox/keap/hooks/fire")
    app.extensions["sandbox_state"].webhooks.flush(5)
    status = client.get(f"/crm/rest/v1/hooks/{hook['key']}", headers=auth).get_json()["status"]
    assert status == "Inactive"


def test_injected_server_error_uses_the_keap_error_shape(client, auth):
    client.put("/_sandbox/faults", json={"error_rate": 1.0})
    response = client.get(f"{API}/orders", headers=auth)
    assert response.status_code == 500
    assert_matches_spec(response.get_json(), "Error")


def test_token_request_with_credentials_in_both_header_and_body_is_refused(client):
    # RFC 6749 §2.3.1: a client MUST NOT use more than one authentication method per request.
    token = client.post("/_sandbox/token", json={}).get_json()
    response = client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": "invoicesync-demo",
            "client_secret": "demo-secret",
        },
        headers=_basic(),
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def _app_auth(client, app_id: str) -> dict:
    token = client.post("/_sandbox/token", json={"app_id": app_id}).get_json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_an_app_with_an_account_of_its_own_sees_and_hears_only_its_own_orders(
    app, client, auth, receiver
):
    """Separate Keap customers: each account numbers its orders from the start, and one
    account's hooks never hear of another's orders (nor of the shared account's)."""
    url, handler = receiver
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 0})
    for app_id in ("shop-a", "shop-b"):
        opened = client.post("/_sandbox/keap/accounts", json={"app_id": app_id})
        assert opened.status_code == 200
    shop_a, shop_b = _app_auth(client, "shop-a"), _app_auth(client, "shop-b")
    _subscribe(client, shop_a, url)

    in_a = _order(client, shop_a)
    in_b = _order(client, shop_b)
    shared = _order(client, auth)

    assert in_a["id"] == in_b["id"]  # each account's own numbering
    assert client.get(f"{API}/orders", headers=shop_a).get_json()["orders"] == [in_a]
    assert [o["id"] for o in client.get(f"{API}/orders", headers=auth).get_json()["orders"]] == [
        shared["id"]
    ]
    assert client.get("/crm/rest/v1/hooks", headers=shop_b).get_json() == []
    client.post("/_sandbox/keap/hooks/fire")
    assert handler.arrived.wait(5)
    app.extensions["sandbox_state"].webhooks.flush(5)
    assert [key["id"] for event in handler.events for key in event["object_keys"]] == [
        int(in_a["id"])
    ]


def test_opening_an_account_needs_an_app_id(client):
    refused = client.post("/_sandbox/keap/accounts", json={"app": "shop-a"})
    assert refused.status_code == 400
    assert "app_id" in refused.get_json()["error"]
