"""The Xero stand-in's identity side: scope rules for new apps, consent, JWT access tokens,
/connections per consent, and an organisation removing the app."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from invoicesync_sandbox.xero.app import create_app

REDIRECT = "https://app.test/callback"
NEW_APP = {
    "client_id": "new-app",
    "client_secret": "new-secret",
    "redirect_uris": [REDIRECT],
    "created_on": "2026-04-01",
}
GRANULAR = "offline_access accounting.invoices accounting.payments accounting.contacts"


@pytest.fixture
def client():
    return create_app().test_client()


def authorize(client, scope: str, client_id: str = "new-app", state: str = "s1") -> dict:
    answer = client.get(
        "/identity/connect/authorize",
        query_string={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": state,
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def exchange(client, code: str, client_id: str = "new-app", secret: str = "new-secret") -> dict:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    answer = client.post(
        "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def claims(access_token: str) -> dict:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_new_app_asking_for_the_broad_transactions_scope_gets_invalid_scope(client):
    client.post("/_sandbox/clients", json=NEW_APP)

    refused = authorize(client, "offline_access accounting.transactions accounting.contacts")
    granted = authorize(client, GRANULAR)

    assert refused == {"error": "invalid_scope", "state": "s1"}
    assert "code" in granted


def test_an_app_created_before_march_2026_keeps_the_broad_scope(client):
    client.post("/_sandbox/clients", json=NEW_APP | {"created_on": "2025-11-01"})

    assert "code" in authorize(client, "offline_access accounting.transactions")


def test_a_consent_to_two_organisations_shares_one_auth_event_id_that_the_token_carries(client):
    client.post("/_sandbox/clients", json=NEW_APP)
    earlier = client.post(
        "/_sandbox/token", json={"client_id": "new-app", "tenant_name": "Older Org"}
    ).get_json()
    client.put("/_sandbox/xero/consent", json={"organisations": ["Org A", "Org B"]})

    tokens = exchange(client, authorize(client, GRANULAR)["code"])
    event_id = claims(tokens["access_token"])["authentication_event_id"]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    everything = client.get("/connections", headers=bearer).get_json()
    this_consent = client.get(
        "/connections", query_string={"authEventId": event_id}, headers=bearer
    ).get_json()

    assert {row["tenantName"] for row in everything} == {"Older Org", "Org A", "Org B"}
    assert {row["tenantName"] for row in this_consent} == {"Org A", "Org B"}
    older = next(row for row in everything if row["tenantId"] == earlier["tenant_id"])
    assert older["authEventId"] != event_id


def test_an_organisation_that_removed_the_app_answers_403_while_refresh_still_works(client):
    issued = client.post("/_sandbox/token", json={}).get_json()
    headers = {
        "Authorization": f"Bearer {issued['access_token']}",
        "xero-tenant-id": issued["tenant_id"],
        "Accept": "application/json",
    }
    assert client.get("/api.xro/2.0/Organisation", headers=headers).status_code == 200

    client.post(f"/_sandbox/xero/organisations/{issued['tenant_id']}/remove-app")
    refreshed = client.post(
        "/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        headers={
            "Authorization": "Basic " + base64.b64encode(b"invoicesync-demo:demo-secret").decode()
        },
    )
    headers["Authorization"] = f"Bearer {refreshed.get_json()['access_token']}"
    answer = client.get("/api.xro/2.0/Organisation", headers=headers)

    assert refreshed.status_code == 200
    assert answer.status_code == 403
    assert answer.get_json()["Detail"] == "AuthenticationUnsuccessful"


def refresh(client, refresh_token: str):
    basic = base64.b64encode(b"invoicesync-demo:demo-secret").decode()
    return client.post(
        "/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers={"Authorization": f"Basic {basic}"},
    )


def test_a_refresh_token_unused_for_60_days_lapses_and_each_refresh_restarts_the_60_days(client):
    quiet = client.post("/_sandbox/token", json={}).get_json()
    kept = client.post("/_sandbox/token", json={}).get_json()

    client.post("/_sandbox/clock", json={"advance_seconds": 40 * 86400})
    renewed = refresh(client, kept["refresh_token"]).get_json()
    client.post("/_sandbox/clock", json={"advance_seconds": 40 * 86400})

    assert refresh(client, quiet["refresh_token"]).get_json() == {"error": "invalid_grant"}
    assert refresh(client, renewed["refresh_token"]).status_code == 200
