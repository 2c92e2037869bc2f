"""Which tenant a ledger organisation (Xero organisation, QBO company) belongs to.

One index, `provider:external_id → tenant`, claimed when a connection is confirmed and read by
the ledger webhook receivers. The first tenant to connect an organisation keeps it: a second
tenant's claim is refused while the first tenant's connection still names it (connected or
lost), so webhooks never move to whichever tenant an index rebuild happened to write last.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from invoicesync.stores.redis_connection import reply_text
from invoicesync.stores.tokens import connection_key


def owner_key(provider: str, external_id: str) -> str:
    return f"invoicesync:connection-owner:{provider}:{external_id}"


class ConnectionOwners:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def owner(self, provider: str, external_id: str) -> str | None:
        """The tenant holding `external_id`, or None (never claimed, or its holder has since
        connected to another organisation)."""
        if not external_id:
            return None
        raw = self._redis.get(owner_key(provider, external_id))
        if raw is None:
            return None
        tenant_id = reply_text(raw)
        return tenant_id if self._names(provider, tenant_id, external_id) else None

    def claim(self, provider: str, external_id: str, tenant_id: str) -> str | None:
        """Make `tenant_id` the holder; returns the other tenant that keeps it instead, else
        None. Check and write are one transaction: two tenants claiming at once, one wins."""
        key = owner_key(provider, external_id)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    holder = reply_text(raw) if raw is not None else None
                    if holder not in (None, tenant_id) and self._names(
                        provider, str(holder), external_id
                    ):
                        pipe.unwatch()
                        return holder
                    pipe.multi()
                    pipe.set(key, tenant_id)
                    pipe.execute()
                    return None
                except redis.WatchError:
                    continue

    def release(self, provider: str, external_id: str, tenant_id: str) -> None:
        """After `tenant_id` reconnected elsewhere: its old organisation is free again."""
        key = owner_key(provider, external_id)
        with self._redis.pipeline() as pipe:
            try:
                pipe.watch(key)
                raw = pipe.get(key)
                if raw is not None and reply_text(raw) == tenant_id:
                    pipe.multi()
                    pipe.delete(key)
                    pipe.execute()
                else:
                    pipe.unwatch()
            except redis.WatchError:
                pass  # someone else claimed it meanwhile: theirs now

    def claim_existing(self, provider: str, tenant_ids: Iterable[str]) -> None:
        """Claim for connections saved before this index existed, in a fixed order (first
        come first kept); a tenant holding its organisation keeps it."""
        for tenant_id in sorted(tenant_ids):
            raw = self._redis.hget(connection_key(provider, tenant_id), "external_id")
            if raw:
                self.claim(provider, reply_text(raw), tenant_id)

    def _names(self, provider: str, tenant_id: str, external_id: str) -> bool:
        # One plain field: the tenant's tokens stay encrypted and untouched.
        bound = self._redis.hget(connection_key(provider, tenant_id), "external_id")
        return bound is not None and reply_text(bound) == external_id
