"""Which of our tenants a Xero organisation or QBO realm belongs to: a reverse index in Redis.

Connections are stored per tenant with the provider-side id as `external_id`; webhooks name only
the provider-side id. The index is filled from the stored connections on a miss (a reconnect to
another organisation is picked up the same way) and checked against them on every hit.
"""

from __future__ import annotations

import redis

from invoicesync.stores.redis_connection import reply_text
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import connection_key


def _index_key(provider: str, external_id: str) -> str:
    return f"invoicesync:reverse-sync:connected:{provider}:{external_id}"


class ConnectedTenants:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._tenants = TenantStore(client)

    def tenant_for(self, provider: str, external_id: str) -> str | None:
        if not external_id:
            return None
        known = self._redis.get(_index_key(provider, external_id))
        if known is not None and self.external_id(provider, reply_text(known)) == external_id:
            return reply_text(known)
        self.refresh(provider)
        known = self._redis.get(_index_key(provider, external_id))
        return None if known is None else reply_text(known)

    def external_id(self, provider: str, tenant_id: str) -> str:
        # Read one plain field: the tokens beside it stay encrypted and untouched.
        raw = self._redis.hget(connection_key(provider, tenant_id), "external_id")
        return reply_text(raw) if raw else ""

    def refresh(self, provider: str) -> None:
        pipeline = self._redis.pipeline(transaction=False)
        for tenant_id in self._tenants.ids():
            external_id = self.external_id(provider, tenant_id)
            if external_id:
                pipeline.set(_index_key(provider, external_id), tenant_id)
        pipeline.execute()
