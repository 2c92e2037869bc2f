"""The provider HTTP layer against a tiny local server: 200, 401 then 200, 429, 500 and 400.

Tokens and limits live in the real Redis of the test run; only the provider is a stand-in.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests

from invoicesync.clients.oauth import OAuthClient
from invoicesync.clients.provider_http import ProviderHttp, ProviderRejected
from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.errors import RateLimited, Transient
from invoicesync.settings import ProviderEndpoints, Settings
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.limiter import Limiter, RateLimit
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tokens import ProviderConnection, TokenStore

OLD_TOKEN = "old-access-5c1d"
NEW_TOKEN = "new-access-9e2f"


class FakeProvider(BaseHTTPRequestHandler):
    hits: Counter = Counter()
    seen_authorization: list[str] = []

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def do_POST(self) -> None:
        self.hits[self.path] += 1
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        if self.path == "/token" and form.get("grant_type") == ["refresh_token"]:
            self._reply(200, {"access_token": NEW_TOKEN, "refresh_token": "r2", "expires_in": 3600})
        else:
            self._reply(404, {})

    def do_GET(self) -> None:
        self.hits[self.path] += 1
        authorization = self.headers.get("Authorization", "")
        self.seen_authorization.append(authorization)
        if self.path == "/ok":
            self._reply(200, {"ok": True}, {"intuit_tid": "tid-1"})
        elif self.path == "/expired":
            if authorization == f"Bearer {NEW_TOKEN}":
                self._reply(200, {"renewed": True})
            else:
                self._reply(401, {"fault": {"type": "AUTHENTICATION"}})
        elif self.path == "/throttled":
            self._reply(429, {"detail": "slow down"}, {"Retry-After": "7"})
        elif self.path == "/throttled-xml":
            body = b"<IntuitResponse><Fault type='SERVICE'/></IntuitResponse>"
            self._reply_raw(429, body, "application/xml", {})
        elif self.path == "/broken":
            self._reply(500, {"error": "boom"})
        elif self.path == "/rejected":
            self._reply(400, {"Fault": {"Error": [{"code": "6140"}]}}, {"intuit_tid": "tid-400"})
        else:
            self._reply(404, {})

    def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        self._reply_raw(status, json.dumps(body).encode(), "application/json", headers or {})

    def _reply_raw(self, status: int, body: bytes, content_type: str, headers: dict) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def provider_url():
    FakeProvider.hits = Counter()
    FakeProvider.seen_authorization = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProvider)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def redis_store(redis_server):
    client = redis_from_settings(Settings(redis_url=redis_server.address))
    yield client
    client.close()


def provider_http(
    provider_url, redis_store, tenant_id, provider="qbo", max_wait=1.0
) -> ProviderHttp:
    store = TokenStore(redis_store, TokenCipher(generate_key()))
    store.save(
        ProviderConnection(
            provider=provider,
            tenant_id=tenant_id,
            access_token=OLD_TOKEN,
            refresh_token="r1",
            access_expires_at=datetime.now(UTC) + timedelta(hours=1),
            refresh_expires_at=None,
            external_id="realm-1",
        )
    )
    endpoints = ProviderEndpoints(provider_url, "", f"{provider_url}/token", "id", "secret")
    tokens = AccessTokens(
        store, lambda name: OAuthClient(endpoints, name, requests.Session()), redis_store
    )
    return ProviderHttp(
        provider,
        requests.Session(),
        tokens,
        Limiter(redis_store),
        rules_for=lambda tenant: [RateLimit("test-minute", 100, 60)],
        scope_key_for=lambda tenant: f"{provider}:{tenant}",
        concurrency_for=lambda tenant: 2,
        limiter_max_wait=max_wait,
        sleep=lambda seconds: None,
    )


def test_a_200_is_returned_with_the_bearer_token(provider_url, redis_store, unique_name):
    http = provider_http(provider_url, redis_store, unique_name)
    response = http.request("GET", f"{provider_url}/ok", unique_name)
    assert response.json() == {"ok": True}
    assert FakeProvider.seen_authorization == [f"Bearer {OLD_TOKEN}"]


def test_a_401_refreshes_once_and_retries_with_the_new_token(
    provider_url, redis_store, unique_name
):
    http = provider_http(provider_url, redis_store, unique_name)
    response = http.request("GET", f"{provider_url}/expired", unique_name)
    assert response.json() == {"renewed": True}
    assert FakeProvider.hits["/token"] == 1
    assert FakeProvider.seen_authorization == [f"Bearer {OLD_TOKEN}", f"Bearer {NEW_TOKEN}"]


def test_a_429_penalises_the_scope_and_raises_with_retry_after(
    provider_url, redis_store, unique_name
):
    http = provider_http(provider_url, redis_store, unique_name, provider="xero")
    with pytest.raises(RateLimited) as raised:
        http.request("GET", f"{provider_url}/throttled", unique_name)
    assert raised.value.retry_after == 7
    assert raised.value.tenant_id == unique_name
    with pytest.raises(RateLimited) as held_back:  # the penalty stops the next call locally
        http.request("GET", f"{provider_url}/ok", unique_name)
    assert 0 < held_back.value.retry_after <= 7
    assert FakeProvider.hits["/ok"] == 0


def test_a_qbo_429_without_retry_after_waits_a_minute(provider_url, redis_store, unique_name):
    http = provider_http(provider_url, redis_store, unique_name, provider="qbo")
    with pytest.raises(RateLimited) as raised:
        http.request("GET", f"{provider_url}/throttled-xml", unique_name)
    assert raised.value.retry_after == 60


def test_a_keap_429_without_retry_after_backs_off_exponentially(
    provider_url, redis_store, unique_name
):
    http = provider_http(provider_url, redis_store, unique_name, provider="keap")
    waits = []
    for _ in range(3):
        redis_store.delete(f"invoicesync:limiter:keap:{unique_name}:penalty")
        with pytest.raises(RateLimited) as raised:
            http.request("GET", f"{provider_url}/throttled-xml", unique_name)
        waits.append(raised.value.retry_after)
    assert waits[0] < waits[1] < waits[2]
    assert waits[0] >= 1


def test_a_500_is_transient_after_a_few_tries_for_a_get(provider_url, redis_store, unique_name):
    http = provider_http(provider_url, redis_store, unique_name)
    with pytest.raises(Transient) as raised:
        http.request("GET", f"{provider_url}/broken", unique_name)
    assert not isinstance(raised.value, RateLimited)
    assert FakeProvider.hits["/broken"] == 3


def test_a_refused_connection_is_transient(redis_store, unique_name):
    http = provider_http("http://127.0.0.1:9", redis_store, unique_name)
    with pytest.raises(Transient):
        http.request("GET", "http://127.0.0.1:9/ok", unique_name)


def test_a_400_is_rejected_with_the_body_and_request_id(provider_url, redis_store, unique_name):
    http = provider_http(provider_url, redis_store, unique_name)
    with pytest.raises(ProviderRejected) as raised:
        http.request("GET", f"{provider_url}/rejected", unique_name)
    assert raised.value.status == 400
    assert raised.value.body == {"Fault": {"Error": [{"code": "6140"}]}}
    assert raised.value.request_id == "tid-400"
    assert FakeProvider.hits["/rejected"] == 1


def test_logs_name_the_call_but_never_a_token(provider_url, redis_store, unique_name, caplog):
    http = provider_http(provider_url, redis_store, unique_name)
    with caplog.at_level(logging.DEBUG):
        http.request("GET", f"{provider_url}/expired", unique_name)
        http.request("GET", f"{provider_url}/ok", unique_name)
    calls = [r for r in caplog.records if r.getMessage() == "provider call"]
    assert [(r.path, r.status) for r in calls] == [
        ("/expired", 401),
        ("/expired", 200),
        ("/ok", 200),
    ]
    assert calls[-1].provider_request_id == "tid-1"
    everything = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert OLD_TOKEN not in everything
    assert NEW_TOKEN not in everything
    assert "Authorization" not in everything
    assert "Bearer" not in everything
