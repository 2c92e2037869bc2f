"""A tenant of ours connected to a new organisation of the Xero sandbox, as OAuth would leave it:
shared by the Xero writer's tests and its benchmark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import TenantSettings, XeroSettings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import ProviderConnection, TokenStore

DEMO_CLIENT = ("invoicesync-demo", "demo-secret")


def connect_xero_tenant(
    sandbox_url: str,
    tenants: TenantStore,
    tokens: TokenStore,
    name: str,
    xero: XeroSettings | None = None,
    scopes: tuple[str, ...] | None = None,
) -> str:
    """The new tenant's id, its organisation named `name`, its connection stored."""
    tenant = tenants.create(name, Destination.XERO)
    issued = requests.post(
        f"{sandbox_url}/_sandbox/token",
        json={"client_id": DEMO_CLIENT[0], "tenant_name": name, "scopes": scopes},
        timeout=5,
    ).json()
    now = datetime.now(UTC)
    tokens.save(
        ProviderConnection(
            provider="xero",
            tenant_id=tenant.id,
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
            access_expires_at=now + timedelta(seconds=issued["expires_in"]),
            refresh_expires_at=now + timedelta(days=60),
            external_id=issued["tenant_id"],
        )
    )
    tenants.save_settings(tenant.id, TenantSettings(Destination.XERO, xero=xero or XeroSettings()))
    return tenant.id
