"""Webhooks from the Xero stand-in to a real local subscriber: intent to receive, signed events."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from invoicesync_sandbox.xero.app import create_app

KEY = "webhook-key-for-tests"


class Subscriber(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()
        valid = hmac.compare_digest(expected, self.headers.get("x-xero-signature", ""))
        if valid:
            Subscriber.received.append(body)
        self.send_response(200 if valid else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def subscriber_url():
    server = HTTPServer(("127.0.0.1", 0), Subscriber)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Subscriber.received = []
    yield f"http://127.0.0.1:{server.server_port}/xero"
    server.shutdown()


def subscribed(subscriber_url):
    """A Xero stand-in whose subscription to `subscriber_url` has passed intent to receive."""
    app = create_app()
    state = app.extensions["sandbox_state"]
    client = app.test_client()
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 0})
    client.put("/_sandbox/xero/webhooks", json={"url": subscriber_url, "key": KEY})
    assert state.webhooks.flush(10)
    assert client.get("/_sandbox/xero/webhooks").get_json()["active"] is True
    Subscriber.received.clear()  # the intent-to-receive check
    return state, client


def create_invoice(client, tenant_body: dict) -> str:
    """An invoice (and its new contact) in the organisation a fresh token names; its id."""
    issued = client.post("/_sandbox/token", json=tenant_body).get_json()
    headers = {
        "Authorization": f"Bearer {issued['access_token']}",
        "xero-tenant-id": issued["tenant_id"],
        "Accept": "application/json",
    }
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"Name": "Ada"}, "LineItems": []}]}
    assert client.put("/api.xro/2.0/Invoices", headers=headers, json=body).status_code == 200
    return issued["tenant_id"]


def test_intent_to_receive_activates_and_invoice_events_arrive_signed(subscriber_url):
    state, client = subscribed(subscriber_url)
    create_invoice(client, {})
    assert state.webhooks.flush(10)
    categories = [b'"eventCategory":"INVOICE"' in b for b in Subscriber.received]
    assert any(categories)
    assert any(b'"eventCategory":"CONTACT"' in b for b in Subscriber.received)


def test_events_of_one_delay_from_two_organisations_arrive_in_one_numbered_payload(
    subscriber_url,
):
    state, client = subscribed(subscriber_url)
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 30})
    tenants = [create_invoice(client, {"tenant_name": name}) for name in ("North", "South")]

    state.webhooks.release_pending()
    assert state.webhooks.flush(10)

    assert len(Subscriber.received) == 1
    payload = json.loads(Subscriber.received[0])
    events = payload["events"]
    assert {event["tenantId"] for event in events} == set(tenants)
    assert {event["eventCategory"] for event in events} == {"INVOICE", "CONTACT"}
    assert payload["lastEventSequence"] - payload["firstEventSequence"] == len(events) - 1 == 3


class SlowSubscriber(BaseHTTPRequestHandler):
    """Answers correctly, but only after Xero's 5-second deadline."""

    delay = 5.5

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()
        valid = hmac.compare_digest(expected, self.headers.get("x-xero-signature", ""))
        threading.Event().wait(SlowSubscriber.delay)
        self.send_response(200 if valid else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_receiver_answering_after_five_seconds_is_a_failed_delivery():
    """Xero: "answer within 5 seconds" (xero.md §8, developer.xero.com webhooks); a late 200
    is no 200, so even a correct intent-to-receive answer leaves the webhook inactive."""
    server = HTTPServer(("127.0.0.1", 0), SlowSubscriber)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = create_app()
    state = app.extensions["sandbox_state"]
    client = app.test_client()
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 0})
    try:
        client.put(
            "/_sandbox/xero/webhooks",
            json={"url": f"http://127.0.0.1:{server.server_port}/xero", "key": KEY},
        )
        assert state.webhooks.flush(30)
    finally:
        server.shutdown()

    assert client.get("/_sandbox/xero/webhooks").get_json()["active"] is False
    late = [d for d in state.webhooks.deliveries if d["elapsed_seconds"] >= 5]
    assert late and all(d["status"] is None and d["error"] == "timeout" for d in late)
