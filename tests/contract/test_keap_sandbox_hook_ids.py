"""Keap stand-in hook events: each key carries the id kind Keap sends, and every id resolves."""

import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from invoicesync_sandbox.keap.app import create_app

API = "/crm/rest/v2"
EVENT_KEYS = (
    "order.add",
    "order.edit",
    "order.delete",
    "invoice.add",
    "invoice.edit",
    "invoice.delete",
    "invoice.payment.add",
)


class _Receiver(BaseHTTPRequestHandler):
    """Echoes handshakes; records each delivery's ids under its event key."""

    ids: dict[str, list[int]] = defaultdict(list)

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        secret = self.headers.get("X-Hook-Secret")
        if not secret:  # recorded before answering, so a finished delivery is already counted
            event = json.loads(body)
            type(self).ids[event["event_key"]].extend(k["id"] for k in event["object_keys"])
        self.send_response(200)
        if secret:
            self.send_header("X-Hook-Secret", secret)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_url():
    _Receiver.ids = defaultdict(list)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/keap/hooks/t1/secret"
    server.shutdown()
    server.server_close()


@pytest.fixture
def app():
    return create_app()


def _subscribe_all(client, auth, url: str) -> None:
    offered = client.get("/crm/rest/v1/hooks/event_keys", headers=auth).get_json()
    assert set(EVENT_KEYS) <= set(offered)
    for key in EVENT_KEYS:
        hook = client.post(
            "/crm/rest/v1/hooks", json={"eventKey": key, "hookUrl": url}, headers=auth
        )
        assert hook.get_json()["status"] == "Verified"
    # Held back until fired, so every change lands in one deterministic batch per key.
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 30})


def _deliver(app, client) -> dict[str, list[int]]:
    client.post("/_sandbox/keap/hooks/fire")
    assert app.extensions["sandbox_state"].webhooks.flush(5)
    delivered, _Receiver.ids = dict(_Receiver.ids), defaultdict(list)
    return delivered


def _order(client, auth, contact_id: str) -> dict:
    body = {
        "contact_id": contact_id,
        "order_title": "Services",
        "order_time": "2026-05-01T10:00:00Z",
        "order_type": "OFFLINE",
        "order_items": [
            {"item_type": "OTHER", "name": "Work", "quantity": 1, "price_per_unit": 40}
        ],
    }
    response = client.post(f"{API}/orders", json=body, headers=auth)
    assert response.status_code == 201
    return response.get_json()


def _order_ids_for_invoice(client, auth, invoice_id: int) -> list[str]:
    query = {"filter": f"invoice_id=={invoice_id}"}
    orders = client.get(f"{API}/orders", query_string=query, headers=auth).get_json()["orders"]
    return [order["id"] for order in orders]


def _order_ids_for_transaction(client, auth, transaction_id: int) -> list[str]:
    response = client.get(f"/crm/rest/v1/transactions/{transaction_id}", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [part for part in response.get_json()["order_ids"].split(",") if part]


def _order_ids_for_payment(client, auth, payment_id: int) -> list[str]:
    query = {"filter": f"id=={payment_id}", "page_size": 1}
    payments = client.get(f"{API}/sales/payments", query_string=query, headers=auth).get_json()
    return [order_id for p in payments["payments"] for order_id in p["order_ids"]]


def test_creating_and_paying_orders_fires_order_invoice_and_payment_ids_that_resolve(
    app, client, auth, hook_url
):
    _subscribe_all(client, auth, hook_url)
    contact_id = client.post(f"{API}/contacts", json={"given_name": "Ann"}, headers=auth)
    order = _order(client, auth, contact_id.get_json()["id"])
    created = _deliver(app, client)
    assert created == {"order.add": [int(order["id"])], "invoice.add": [int(order["invoice_id"])]}
    assert _order_ids_for_invoice(client, auth, created["invoice.add"][0]) == [order["id"]]

    body = {"payment_amount": 15, "apply_to_commissions": False, "payment_method_type": "Cash"}
    payment = client.post(f"{API}/orders/{order['id']}/payments", json=body, headers=auth)
    paid = _deliver(app, client)
    # Only the payment hook, carrying the v1 transaction id (the public C# sample's reading).
    assert paid == {"invoice.payment.add": [int(payment.get_json()["transaction_id"])]}
    assert _order_ids_for_transaction(client, auth, paid["invoice.payment.add"][0]) == [order["id"]]


def test_order_and_invoice_ids_differ_so_an_invoice_id_is_never_read_as_an_order(
    app, client, auth, hook_url
):
    _subscribe_all(client, auth, hook_url)
    contact_id = client.post(f"{API}/contacts", json={"given_name": "Ann"}, headers=auth)
    order = _order(client, auth, contact_id.get_json()["id"])
    invoice_id = _deliver(app, client)["invoice.add"][0]
    assert str(invoice_id) != order["id"]
    assert client.get(f"{API}/orders/{invoice_id}", headers=auth).status_code == 404


def _order_announced(app, client, auth, hook_url) -> dict:
    """An order whose creation hooks are delivered already, so the next batch is what follows."""
    _subscribe_all(client, auth, hook_url)
    contact_id = client.post(f"{API}/contacts", json={"given_name": "Ann"}, headers=auth)
    order = _order(client, auth, contact_id.get_json()["id"])
    _deliver(app, client)
    return order


def test_payment_hook_id_is_a_transaction_id_that_is_no_v2_payment_id(app, client, auth, hook_url):
    order = _order_announced(app, client, auth, hook_url)
    body = {"payment_amount": 15, "apply_to_commissions": False, "payment_method_type": "Cash"}
    client.post(f"{API}/orders/{order['id']}/payments", json=body, headers=auth)

    [hook_id] = _deliver(app, client)["invoice.payment.add"]

    assert _order_ids_for_payment(client, auth, hook_id) == []
    assert _order_ids_for_transaction(client, auth, hook_id) == [order["id"]]
    missing = client.get("/crm/rest/v1/transactions/123456789", headers=auth)
    assert missing.status_code == 404 and "message" in missing.get_json()


def test_a_payment_neither_edits_the_order_nor_moves_its_modification_time(
    app, client, auth, hook_url
):
    order = _order_announced(app, client, auth, hook_url)
    client.post("/_sandbox/clock", json={"advance_seconds": 60})
    body = {"payment_amount": 40, "apply_to_commissions": False, "payment_method_type": "Cash"}
    client.post(f"{API}/orders/{order['id']}/payments", json=body, headers=auth)

    assert set(_deliver(app, client)) == {"invoice.payment.add"}
    after = client.get(f"{API}/orders/{order['id']}", headers=auth).get_json()
    assert after["status"] == "PAID"
    assert after["modification_time"] == order["modification_time"]


def test_split_payment_fires_one_transaction_id_that_resolves_to_every_order_it_covers(
    app, client, auth, hook_url
):
    _subscribe_all(client, auth, hook_url)
    contact_id = client.post(f"{API}/contacts", json={"given_name": "Ann"}, headers=auth)
    first = _order(client, auth, contact_id.get_json()["id"])
    second = _order(client, auth, contact_id.get_json()["id"])
    _deliver(app, client)
    allocations = [{"order_id": first["id"], "amount": 40}, {"order_id": second["id"], "amount": 5}]
    client.post(
        "/_sandbox/keap/payments", json={"payment_method_type": "Cash", "allocations": allocations}
    )
    events = _deliver(app, client)
    assert list(events) == ["invoice.payment.add"] and len(events["invoice.payment.add"]) == 1
    resolved = _order_ids_for_transaction(client, auth, events["invoice.payment.add"][0])
    assert resolved == [first["id"], second["id"]]


def test_quickbooks_marking_and_deleting_fire_edit_and_delete_with_their_own_ids(
    app, client, auth, hook_url
):
    _subscribe_all(client, auth, hook_url)
    contact_id = client.post(f"{API}/contacts", json={"given_name": "Ann"}, headers=auth)
    order = _order(client, auth, contact_id.get_json()["id"])
    _deliver(app, client)
    client.put(
        f"/_sandbox/keap/orders/{order['id']}/source_type", json={"source_type": "QUICKBOOKS"}
    )
    assert _deliver(app, client) == {
        "order.edit": [int(order["id"])],
        "invoice.edit": [int(order["invoice_id"])],
    }
    assert client.delete(f"{API}/orders/{order['id']}", headers=auth).status_code == 204
    deleted = _deliver(app, client)
    assert deleted == {
        "order.delete": [int(order["id"])],
        "invoice.delete": [int(order["invoice_id"])],
    }
    assert _order_ids_for_invoice(client, auth, deleted["invoice.delete"][0]) == []
