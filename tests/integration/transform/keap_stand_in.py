"""The Keap stand-in served for one test, a tenant connected to it, and seeding through
Keap's own endpoints (contacts, products, orders, order payments)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import requests

from invoicesync.clients.keap import KeapClient, keap_client_from_settings
from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.settings import Settings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import ProviderConnection, TokenStore
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invoicesync_sandbox.keap.app import create_app
from tests.integration.stores.local_servers import serving

# Orders are entered as in Keap's own app or by another integration: with another client's
# token, so they never count against the limits of the client under test (keap.md §6).
SEEDING_CLIENT_ID = f"{DEMO_CLIENT_ID}-seeding"
THROTTLED_RETRY_SECONDS = 30.0


def keap_request(method: str, url: str, token: str, **kwargs: Any) -> requests.Response:
    """A test's own call to the Keap stand-in's API. One refused by the spike arrest (about
    25 calls a second per client, keap.md §6) made nothing, so it is made again once the
    second has passed."""
    deadline = time.monotonic() + THROTTLED_RETRY_SECONDS
    while True:
        response = requests.request(
            method, url, headers={"Authorization": f"Bearer {token}"}, timeout=5, **kwargs
        )
        if response.status_code != 429 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


@dataclass
class KeapStandIn:
    base_url: str
    settings: Settings
    redis: redis.Redis
    seed_app_id: str = "seed"  # whose account `api` seeds: shared unless it has its own

    @property
    def v2(self) -> str:
        return f"{self.base_url}/crm/rest/v2"

    def client(self, session: requests.Session | None = None) -> KeapClient:
        return keap_client_from_settings(self.settings, self.redis, session)

    def connect(self, tenant_id: str, *, expires_in: timedelta = timedelta(hours=1)) -> str:
        """Store a Keap connection for the tenant; returns its access token."""
        issued = self.control("POST", "/_sandbox/token", {"app_id": tenant_id})
        TokenStore(self.redis, TokenCipher(self.settings.token_encryption_key)).save(
            ProviderConnection(
                provider="keap",
                tenant_id=tenant_id,
                access_token=issued["access_token"],
                refresh_token=issued["refresh_token"],
                access_expires_at=datetime.now(UTC) + expires_in,
                refresh_expires_at=None,
                external_id=tenant_id,
            )
        )
        return issued["access_token"]

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.base_url}{path}", json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A seeding call through Keap's real v2 endpoints, with a token of its own (another
        client's)."""
        if not getattr(self, "_seed_token", None):
            self._seed_token = self.control(
                "POST",
                "/_sandbox/token",
                {"client_id": SEEDING_CLIENT_ID, "app_id": self.seed_app_id},
            )["access_token"]
        response = keap_request(method, f"{self.v2}{path}", self._seed_token, json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None  # DELETE answers 204

    def contact(self, given: str = "Ann", family: str = "Lee") -> str:
        body = {
            "given_name": given,
            "family_name": family,
            "email_addresses": [{"email": f"{given.lower()}@example.com", "field": "EMAIL1"}],
        }
        return self.api("POST", "/contacts", body)["id"]

    def product(self, name: str, price_cents: int, sku: str = "", taxable: bool = False) -> str:
        body = {
            "name": name,
            "short_description": name,
            "price": price_cents,
            "sku": sku,
            "taxable": taxable,
        }
        return self.api("POST", "/products", body)["id"]

    def order(self, items: list[dict], *, order_time: str = "2026-03-02T10:00:00Z") -> dict:
        body = {
            "contact_id": self.contact(),
            "order_time": order_time,
            "order_title": "Test order",
            "order_type": "OFFLINE",
            "order_items": items,
        }
        return self.api("POST", "/orders", body)

    def pay(self, order_id: str, amount: float, *, notes: str = "", when: str | None = None):
        body = {
            "payment_amount": amount,
            "apply_to_commissions": False,
            "payment_method_type": "Check",
            "notes": notes,
            "payment_time": when or "2026-03-05T10:00:00Z",
        }
        return self.api("POST", f"/orders/{order_id}/payments", body)

    def requests_log(self) -> list[dict]:
        """The stand-in's request log, oldest first (as much as it keeps)."""
        return self.control("GET", "/_sandbox/requests?limit=1000000")


@contextmanager
def keap_stand_in(settings: Settings, client: redis.Redis) -> Iterator[KeapStandIn]:
    with serving(create_app()) as base_url:
        keap_settings = replace(
            settings,
            keap_api_base=f"{base_url}/crm",
            keap_token_url=f"{base_url}/token",
            keap_client_id=DEMO_CLIENT_ID,
            keap_client_secret=DEMO_CLIENT_SECRET,
            token_encryption_key=settings.token_encryption_key or generate_key(),
        )
        yield KeapStandIn(base_url, keap_settings, client)


def create_tenant(client: redis.Redis, settings: TenantSettings | None = None) -> str:
    """A tenant whose settings are saved (processing on unless the settings say otherwise)."""
    store = TenantStore(client)
    tenant = store.create("Test tenant", Destination.XERO)
    if settings is None:
        settings = TenantSettings(destination=Destination.XERO)
        settings = replace(settings, sync=replace(settings.sync, processing_enabled=True))
    store.save_settings(tenant.id, settings)
    return tenant.id


def hooks_at_once(base_url: str, settings: Settings, client: redis.Redis) -> KeapStandIn:
    """A running stack's Keap stand-in, sending each change's hooks as soon as it is recorded
    instead of in Keap's 30-60 s batches."""
    stand_in = KeapStandIn(base_url, settings, client)
    stand_in.control("PUT", "/_sandbox/faults", {"webhook_delay_seconds": 0})
    return stand_in
