"""Access tokens refreshed against the Keap sandbox's real token endpoint, across threads."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from invoicesync.clients.oauth import OAuthClient
from invoicesync.errors import Disconnected
from invoicesync.settings import Settings
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.tokens import ProviderConnection, TokenStore
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invoicesync_sandbox.keap.app import create_app
from tests.integration.stores.local_servers import serving


@pytest.fixture
def keap_sandbox():
    with serving(create_app()) as base_url:
        yield base_url


def keap_tokens(base_url: str, store: TokenStore, client) -> AccessTokens:
    endpoints = Settings(
        keap_api_base=f"{base_url}/crm",
        keap_token_url=f"{base_url}/token",
        keap_client_id=DEMO_CLIENT_ID,
        keap_client_secret=DEMO_CLIENT_SECRET,
    ).endpoints("keap")
    return AccessTokens(
        store, lambda provider: OAuthClient(endpoints, provider, requests.Session()), client
    )


def connect(base_url: str, store: TokenStore, tenant_id: str, expires_in: timedelta) -> dict:
    issued = requests.post(f"{base_url}/_sandbox/token", json={}, timeout=5).json()
    store.save(
        ProviderConnection(
            provider="keap",
            tenant_id=tenant_id,
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
            access_expires_at=datetime.now(UTC) + expires_in,
            refresh_expires_at=None,
            external_id="ab123",
        )
    )
    return issued


def refresh_calls(base_url: str) -> int:
    return requests.get(f"{base_url}/_sandbox/counters", timeout=5).json().get("POST /token", 0)


def test_a_token_far_from_expiry_is_returned_without_a_refresh(
    keap_sandbox, store_redis, cipher, unique_name
):
    store = TokenStore(store_redis, cipher)
    issued = connect(keap_sandbox, store, unique_name, timedelta(hours=2))
    tokens = keap_tokens(keap_sandbox, store, store_redis)
    assert tokens.access_token("keap", unique_name) == issued["access_token"]
    assert refresh_calls(keap_sandbox) == 0


def test_ten_threads_at_expiry_cause_exactly_one_refresh(
    keap_sandbox, store_redis, cipher, unique_name
):
    store = TokenStore(store_redis, cipher)
    issued = connect(keap_sandbox, store, unique_name, timedelta(seconds=30))
    tokens = keap_tokens(keap_sandbox, store, store_redis)
    barrier = threading.Barrier(10)
    results: list[str] = []
    failures: list[BaseException] = []

    def ask() -> None:
        barrier.wait()
        try:
            results.append(tokens.access_token("keap", unique_name))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert refresh_calls(keap_sandbox) == 1
    assert len(set(results)) == 1 and results[0] != issued["access_token"]
    stored = store.load("keap", unique_name)
    assert stored.access_token == results[0]
    assert stored.refresh_token != issued["refresh_token"]
    assert stored.access_expires_at > datetime.now(UTC) + timedelta(hours=23)


def test_a_rejected_refresh_token_disconnects_the_tenant(
    keap_sandbox, store_redis, cipher, unique_name
):
    store = TokenStore(store_redis, cipher)
    connect(keap_sandbox, store, unique_name, timedelta(seconds=0))
    stale = store.load("keap", unique_name)
    store.save(replace(stale, refresh_token="spent-refresh-token"))
    tokens = keap_tokens(keap_sandbox, store, store_redis)
    with pytest.raises(Disconnected):
        tokens.access_token("keap", unique_name)
    assert store.load("keap", unique_name).status == "disconnected"
    with pytest.raises(Disconnected):
        tokens.access_token("keap", unique_name)
    assert refresh_calls(keap_sandbox) == 1


def test_force_refresh_only_replaces_the_token_that_was_rejected(
    keap_sandbox, store_redis, cipher, unique_name
):
    store = TokenStore(store_redis, cipher)
    issued = connect(keap_sandbox, store, unique_name, timedelta(hours=2))
    tokens = keap_tokens(keap_sandbox, store, store_redis)
    renewed = tokens.force_refresh("keap", unique_name, issued["access_token"])
    assert renewed != issued["access_token"]
    # A second replica that saw the same 401 gets the already-renewed token, no second refresh.
    assert tokens.force_refresh("keap", unique_name, issued["access_token"]) == renewed
    assert refresh_calls(keap_sandbox) == 1


def test_a_tenant_never_connected_is_disconnected(store_redis, cipher, unique_name):
    tokens = AccessTokens(TokenStore(store_redis, cipher), lambda p: None, store_redis)
    with pytest.raises(Disconnected):
        tokens.access_token("qbo", unique_name)
