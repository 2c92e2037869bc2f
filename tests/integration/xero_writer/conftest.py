"""A Xero sandbox on a free port, one connected Xero tenant per test, and the writer wired to it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
import redis
import requests

from invoicesync.clients.xero import XeroClient, xero_client_from_settings
from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.domain.tenant_settings import XeroSettings
from invoicesync.kafka.publisher import Publisher
from invoicesync.settings import Settings
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import TokenStore
from invoicesync.writing.flow import CanonicalEventWriter
from invoicesync_sandbox.xero.app import create_app
from tests.integration.stores.local_servers import serving
from tests.integration.xero_writer.xero_tenants import DEMO_CLIENT, connect_xero_tenant
from xero_writer.handler import xero_event_writer


@dataclass
class XeroStack:
    settings: Settings
    sandbox_url: str
    redis: redis.Redis
    tenants: TenantStore
    client: XeroClient
    publisher: Publisher

    def connect_tenant(
        self, name: str, xero: XeroSettings | None = None, scopes: tuple[str, ...] | None = None
    ) -> str:
        """A tenant of ours, its Xero organisation in the sandbox, and the stored connection
        (granted `scopes`, or the stand-in's default set)."""
        tokens = TokenStore(self.redis, TokenCipher(self.settings.token_encryption_key))
        return connect_xero_tenant(self.sandbox_url, self.tenants, tokens, name, xero, scopes)

    def tenants_xero_id(self, tenant_id: str) -> str:
        """The Xero organisation (tenant id at Xero) our tenant is connected to."""
        store = TokenStore(self.redis, TokenCipher(self.settings.token_encryption_key))
        connection = store.load("xero", tenant_id)
        assert connection is not None
        return connection.external_id

    def set_xero_settings(self, tenant_id: str, xero: XeroSettings) -> None:
        current = self.tenants.settings(tenant_id)
        self.tenants.save_settings(tenant_id, replace(current, xero=xero))

    def writer(self) -> CanonicalEventWriter:
        return xero_event_writer(
            self.client, IdMap(self.redis, self.publisher, self.settings), self.tenants, self.redis
        )

    def invoices(self, tenant_id: str) -> list[dict]:
        """Every invoice of the tenant's organisation, with lines, read through our client."""
        return [
            self.client.get_invoice(tenant_id, row["InvoiceID"])
            for row in self.client._get(tenant_id, "/Invoices").get("Invoices", [])
        ]

    def control(self, method: str, path: str, **kwargs) -> dict:
        reply = requests.request(method, f"{self.sandbox_url}/_sandbox{path}", timeout=5, **kwargs)
        reply.raise_for_status()
        return reply.json()


@pytest.fixture
def xero_stack(settings, redis_client) -> XeroStack:
    with serving(create_app()) as url:
        stack_settings = replace(
            settings,
            xero_api_base=url,
            xero_token_url=f"{url}/connect/token",
            xero_client_id=DEMO_CLIENT[0],
            xero_client_secret=DEMO_CLIENT[1],
            token_encryption_key=generate_key(),
        )
        requests.put(f"{url}/_sandbox/limits", json={"enabled": True}, timeout=5)
        publisher = Publisher(stack_settings)
        yield XeroStack(
            stack_settings,
            url,
            redis_client,
            TenantStore(redis_client),
            xero_client_from_settings(stack_settings, redis_client),
            publisher,
        )
        publisher.close()
