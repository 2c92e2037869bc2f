"""The OAuth client through the sandbox stand-ins: authorize, callback state, exchange, refresh."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from admin.stores.oauth_state import OAuthState
from invoicesync.clients.oauth import OAuthClient, OAuthInvalidGrant, OAuthRejected
from invoicesync.errors import Transient
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invoicesync_sandbox.keap.app import create_app as create_keap_app
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from tests.integration.stores.local_servers import serving

REDIRECT_URI = "http://localhost:8080/oauth/callback"


@pytest.fixture
def states(redis_server):
    client = redis_from_settings(Settings(redis_url=redis_server.address))
    yield OAuthState(client)
    client.close()


def keap_client(base_url: str, secret: str = DEMO_CLIENT_SECRET) -> OAuthClient:
    settings = Settings(
        keap_api_base=f"{base_url}/crm",
        keap_authorize_url=f"{base_url}/app/oauth/authorize",
        keap_token_url=f"{base_url}/token",
        keap_client_id=DEMO_CLIENT_ID,
        keap_client_secret=secret,
    )
    return OAuthClient(settings.endpoints("keap"), "keap", requests.Session())


def xero_client(
    base_url: str, client_id: str = DEMO_CLIENT_ID, secret: str = DEMO_CLIENT_SECRET
) -> OAuthClient:
    settings = Settings(
        xero_api_base=base_url,
        xero_authorize_url=f"{base_url}/identity/connect/authorize",
        xero_token_url=f"{base_url}/connect/token",
        xero_client_id=client_id,
        xero_client_secret=secret,
    )
    return OAuthClient(settings.endpoints("xero"), "xero", requests.Session())


def follow_consent(authorize_url: str) -> dict[str, str]:
    """The stand-ins consent at once: the redirect carries the callback's query."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def test_authorize_urls_ask_each_provider_for_its_own_scopes():
    settings = Settings(keap_client_id="k", xero_client_id="x", qbo_client_id="q")
    scopes = {}
    for provider in ("keap", "xero", "qbo"):
        client = OAuthClient(settings.endpoints(provider), provider, requests.Session())
        query = parse_qs(urlsplit(client.authorize_url("s1", REDIRECT_URI)).query)
        assert query["response_type"] == ["code"]
        assert query["state"] == ["s1"]
        assert query["redirect_uri"] == [REDIRECT_URI]
        scopes[provider] = query["scope"][0]
    assert scopes == {
        "keap": "full",
        "xero": (
            "openid profile email offline_access accounting.invoices accounting.payments "
            "accounting.contacts accounting.settings.read"
        ),
        "qbo": "com.intuit.quickbooks.accounting",
    }


def test_keap_connect_flow_exchanges_the_code_and_refresh_rotates(states, unique_name):
    with serving(create_keap_app()) as base_url:
        client = keap_client(base_url)
        issued = states.issue(unique_name, "keap", "key-1")
        callback = follow_consent(client.authorize_url(issued.state, REDIRECT_URI))
        started = states.consume(callback["state"], "keap", issued.browser_secret)
        assert started.tenant_id == unique_name

        tokens = client.exchange_code(callback["code"], REDIRECT_URI)
        assert tokens.expires_in == 86400
        renewed = client.refresh(tokens.refresh_token)
        assert renewed.refresh_token != tokens.refresh_token

        with pytest.raises(OAuthInvalidGrant):  # Keap refresh tokens are single use
            client.refresh(tokens.refresh_token)
        with pytest.raises(OAuthInvalidGrant):  # so are authorization codes
            client.exchange_code(callback["code"], REDIRECT_URI)


def test_keap_code_exchange_sends_the_client_credentials_once_in_the_body():
    # Keap's stand-in refuses credentials sent both ways (RFC 6749 §2.3.1), as Keap may.
    with serving(create_keap_app()) as base_url:
        client = keap_client(base_url)
        callback = follow_consent(client.authorize_url("s1", REDIRECT_URI))

        tokens = client.exchange_code(callback["code"], REDIRECT_URI)

        assert tokens.refresh_token
        assert client.refresh(tokens.refresh_token).access_token


def test_wrong_client_credentials_are_rejected_not_treated_as_a_lost_grant():
    with serving(create_keap_app()) as base_url:
        issued = requests.post(f"{base_url}/_sandbox/token", json={}, timeout=5).json()
        with pytest.raises(OAuthRejected) as raised:
            keap_client(base_url, secret="wrong").refresh(issued["refresh_token"])
        assert raised.value.error == "invalid_client"


def test_xero_connect_flow_finds_the_connected_organisation(states, unique_name):
    with serving(create_xero_app()) as base_url:
        client = xero_client(base_url)
        issued = states.issue(unique_name, "xero", "key-1")
        callback = follow_consent(client.authorize_url(issued.state, REDIRECT_URI))
        started = states.consume(callback["state"], "xero", issued.browser_secret)
        assert started.tenant_id == unique_name

        tokens = client.exchange_code(callback["code"], REDIRECT_URI)
        connections = client.xero_connections(tokens.access_token)
        assert connections and connections[0]["tenantId"]
        assert "tenantName" in connections[0]

        renewed = client.refresh(tokens.refresh_token)
        assert renewed.access_token != tokens.access_token


def test_an_app_created_after_march_2026_can_connect_xero_with_the_default_scopes(
    states, unique_name
):
    with serving(create_xero_app()) as base_url:
        requests.post(
            f"{base_url}/_sandbox/clients",
            json={
                "client_id": "new-app",
                "client_secret": "new-secret",
                "redirect_uris": [REDIRECT_URI],
                "created_on": "2026-11-02",
            },
            timeout=5,
        ).raise_for_status()
        client = xero_client(base_url, "new-app", "new-secret")
        callback = follow_consent(
            client.authorize_url(states.issue(unique_name, "xero", "key-1").state, REDIRECT_URI)
        )

        assert "error" not in callback, callback
        tokens = client.exchange_code(callback["code"], REDIRECT_URI)
        assert client.xero_connections(tokens.access_token)


def test_xero_scopes_are_a_setting():
    settings = Settings.from_env({"INVOICESYNC_XERO_SCOPES": "offline_access accounting.invoices"})
    client = OAuthClient(settings.endpoints("xero"), "xero", requests.Session())

    query = parse_qs(urlsplit(client.authorize_url("s1", REDIRECT_URI)).query)

    assert query["scope"] == ["offline_access accounting.invoices"]


def test_an_unreachable_token_endpoint_is_transient():
    with pytest.raises(Transient):
        keap_client("http://127.0.0.1:9").refresh("any")
