"""The QBO stand-in's outbound webhooks, received by a real local HTTP endpoint, and the
stand-in itself served over real HTTP."""

import base64
import hashlib
import hmac
import json
import threading

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from invoicesync_sandbox.qbo.app import create_app

VERIFIER = "verifier-token-123"


class Receiver:
    """A webhook endpoint on a free port that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/qbo/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def _app(self, request: Request) -> Response:
        self.received.append((dict(request.headers), request.get_data()))
        return Response("", 200)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def app():
    return create_app()


def connect(app, receiver, **target) -> tuple:
    client = app.test_client()
    client.put("/_sandbox/faults", json={"webhook_delay_seconds": 0})
    client.put(
        "/_sandbox/qbo/webhooks", json={"url": receiver.url, "verifier_token": VERIFIER, **target}
    )
    token = client.post("/_sandbox/token", json={}).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}
    return client, f"/v3/company/{token['realmId']}", headers, token["realmId"]


def deliveries(app, receiver, count: int) -> list[tuple[dict, bytes]]:
    assert app.extensions["sandbox_state"].webhooks.flush(10)
    assert len(receiver.received) == count
    return receiver.received


def expected_signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest()).decode()


def test_customer_create_sends_a_signed_cloudevent(app, receiver):
    client, base, headers, realm = connect(app, receiver)
    created = client.post(f"{base}/customer", json={"DisplayName": "Ada"}, headers=headers)
    [(sent_headers, body)] = deliveries(app, receiver, 1)
    assert sent_headers["Intuit-Signature"] == expected_signature(body)
    [event] = json.loads(body)
    assert event["specversion"] == "1.0"
    assert event["type"] == "qbo.customer.created.v1"
    assert event["intuitaccountid"] == realm
    assert event["intuitentityid"] == created.get_json()["Customer"]["Id"]


def test_legacy_format_sends_event_notifications(app, receiver):
    client, base, headers, realm = connect(app, receiver, format="legacy")
    client.post(f"{base}/customer", json={"DisplayName": "Ada"}, headers=headers)
    [(sent_headers, body)] = deliveries(app, receiver, 1)
    notification = json.loads(body)["eventNotifications"][0]
    assert notification["realmId"] == realm
    [entity] = notification["dataChangeEvent"]["entities"]
    assert (entity["name"], entity["operation"]) == ("Customer", "Create")
    assert sent_headers["Intuit-Signature"] == expected_signature(body)


def test_payment_announces_the_payment_and_the_invoice_it_changed(app, receiver):
    client, base, headers, _ = connect(app, receiver, format="legacy")
    customer = client.post(
        f"{base}/customer", json={"DisplayName": "Ada"}, headers=headers
    ).get_json()["Customer"]["Id"]
    invoice = client.post(
        f"{base}/invoice",
        headers=headers,
        json={
            "CustomerRef": {"value": customer},
            "Line": [
                {"DetailType": "SalesItemLineDetail", "Amount": 20, "SalesItemLineDetail": {}}
            ],
        },
    ).get_json()["Invoice"]["Id"]
    client.post(
        f"{base}/payment",
        headers=headers,
        json={
            "CustomerRef": {"value": customer},
            "TotalAmt": 20,
            "Line": [{"Amount": 20, "LinkedTxn": [{"TxnId": invoice, "TxnType": "Invoice"}]}],
        },
    )
    # Deliveries travel on their own threads, so they may arrive in any order.
    announced = [
        [(e["name"], e["operation"]) for e in event["dataChangeEvent"]["entities"]]
        for _, body in deliveries(app, receiver, 3)
        for event in json.loads(body)["eventNotifications"]
    ]
    assert [("Payment", "Create"), ("Invoice", "Update")] in announced


def test_failed_writes_send_nothing(app, receiver):
    client, base, headers, _ = connect(app, receiver)
    client.post(f"{base}/customer", json={}, headers=headers)
    deliveries(app, receiver, 0)


def test_webhook_drop_fault_applies(app, receiver):
    client, base, headers, _ = connect(app, receiver)
    client.put("/_sandbox/faults", json={"webhook_drop_rate": 1.0})
    client.post(f"{base}/customer", json={"DisplayName": "Ada"}, headers=headers)
    deliveries(app, receiver, 0)
    assert app.extensions["sandbox_state"].webhooks.deliveries[0]["dropped"] is True


def test_stand_in_serves_real_http(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        token = requests.post(f"{base}/_sandbox/token", json={}, timeout=5).json()
        response = requests.get(
            f"{base}/v3/company/{token['realmId']}/query",
            params={"query": "select * from Item where Name = 'Shipping'", "minorversion": "75"},
            headers={
                "Authorization": f"Bearer {token['access_token']}",
                "Accept": "application/json",
            },
            timeout=5,
        )
        assert response.status_code == 200
        assert response.headers["intuit_tid"]
        assert response.json()["QueryResponse"]["Item"][0]["Name"] == "Shipping"
    finally:
        server.shutdown()
