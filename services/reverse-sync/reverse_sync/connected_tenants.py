"""Which of our tenants a Xero organisation or QBO realm belongs to, for the webhooks.

The admin claims `provider:external_id → tenant` when a connection is confirmed
(invoicesync.stores.connection_owners). Connections saved before that index existed are
claimed here on a miss, first come first kept: a rebuild never moves an organisation that a
tenant still holds to another tenant.
"""

from __future__ import annotations

import redis

from invoicesync.stores.connection_owners import ConnectionOwners
from invoicesync.stores.redis_connection import reply_text
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import connection_key


class ConnectedTenants:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._tenants = TenantStore(client)
        self._owners = ConnectionOwners(client)

    def tenant_for(self, provider: str, external_id: str) -> str | None:
        if not external_id:
            return None
        owner = self._owners.owner(provider, external_id)
        if owner is not None:
            return owner
        self.refresh(provider)
        return self._owners.owner(provider, external_id)

    def external_id(self, provider: str, tenant_id: str) -> str:
        # Read one plain field: the tokens beside it stay encrypted and untouched.
        raw = self._redis.hget(connection_key(provider, tenant_id), "external_id")
        return reply_text(raw) if raw else ""

    def refresh(self, provider: str) -> None:
        self._owners.claim_existing(provider, self._tenants.ids())
