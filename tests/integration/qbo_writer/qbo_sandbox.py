"""A QBO sandbox company connected to a tenant: served on a free port, tokens in the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import redis
import requests

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.kafka.publisher import Publisher
from invoicesync.settings import Settings
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import ProviderConnection, TokenStore
from invoicesync.writing.flow import CanonicalEventWriter
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invoicesync_sandbox.qbo.app import create_app
from qbo_writer.handler import qbo_event_writer
from tests.integration.stores.local_servers import serving


@dataclass
class QboSandbox:
    base_url: str
    settings: Settings  # pointed at this sandbox, with a token encryption key

    def writer(self, ledger_publisher: Publisher | None = None) -> CanonicalEventWriter:
        """The QBO writer wired as the service wires it; without a publisher the id map stays
        in Redis only."""
        client = redis_from_settings(self.settings)
        return qbo_event_writer(
            qbo_client_from_settings(self.settings, client),
            IdMap(client, ledger_publisher, self.settings),
            TenantStore(client),
            client,
        )

    def connect(self, tenant_id: str, *, country: str = "US") -> str:
        """Issue tokens for a fresh company and store the connection; returns the realm id."""
        issued = requests.post(
            f"{self.base_url}/_sandbox/token",
            json={"company_name": f"Books of {tenant_id}", "country": country},
            timeout=5,
        ).json()
        store = TokenStore(self.redis(), TokenCipher(self.settings.token_encryption_key))
        store.save(
            ProviderConnection(
                provider="qbo",
                tenant_id=tenant_id,
                access_token=issued["access_token"],
                refresh_token=issued["refresh_token"],
                access_expires_at=datetime.now(UTC) + timedelta(seconds=issued["expires_in"]),
                refresh_expires_at=None,
                external_id=issued["realmId"],
            )
        )
        return issued["realmId"]

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url)

    def counters(self) -> dict[str, int]:
        return requests.get(f"{self.base_url}/_sandbox/counters", timeout=5).json()

    def api_calls(self) -> int:
        return sum(self.counters().values())

    def set_limits(self, enabled: bool) -> None:
        requests.put(f"{self.base_url}/_sandbox/limits", json={"enabled": enabled}, timeout=5)

    def query(self, realm_id: str, token_tenant: str, statement: str) -> list[dict]:
        """Read the company directly (not through the client under test)."""
        store = TokenStore(self.redis(), TokenCipher(self.settings.token_encryption_key))
        connection = store.load("qbo", token_tenant)
        assert connection is not None
        response = requests.get(
            f"{self.base_url}/v3/company/{realm_id}/query",
            params={"query": statement, "minorversion": "75"},
            headers={
                "Authorization": f"Bearer {connection.access_token}",
                "Accept": "application/json",
            },
            timeout=5,
        )
        response.raise_for_status()
        body = json.loads(response.text, parse_float=Decimal)
        entity = statement.split()[3]
        return body["QueryResponse"].get(entity, [])


@contextmanager
def qbo_sandbox(settings: Settings) -> Iterator[QboSandbox]:
    with serving(create_app()) as base_url:
        pointed = replace(
            settings,
            qbo_api_base=base_url,
            qbo_token_url=f"{base_url}/oauth2/v1/tokens/bearer",
            qbo_client_id=DEMO_CLIENT_ID,
            qbo_client_secret=DEMO_CLIENT_SECRET,
            token_encryption_key=settings.token_encryption_key or generate_key(),
        )
        yield QboSandbox(base_url, pointed)


@contextmanager
def qbo_sandbox_without_limits(redis_url: str) -> Iterator[QboSandbox]:
    """A QBO stand-in with its rate limits off: for tests of what is written, not how fast."""
    with qbo_sandbox(Settings(redis_url=redis_url)) as running:
        running.set_limits(False)
        yield running
