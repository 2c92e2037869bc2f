"""Tenants in Redis: the record, its hook token, its settings and the processing switch."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache

import redis
from redis.typing import EncodableT, FieldT

from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import UnknownTenant
from invoicesync.stores.redis_connection import reply_text
from invoicesync.tenant_settings_schema import settings_from_json, settings_to_json

_ALL_TENANTS = "invoicesync:tenants"


def tenant_key(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:record"


def settings_key(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:settings"


def hook_token_key(token: str) -> str:
    return f"invoicesync:hook-token:{token}"


def poll_last_key(tenant_id: str) -> str:
    """When the poller last finished for the tenant (ISO-8601 UTC); the poller writes it."""
    return f"invoicesync:{tenant_id}:poll:last"


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    destination: Destination
    created_at: datetime
    hook_token: str
    settings_saved: bool = False


class TenantStore:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def create(self, name: str, destination: Destination) -> Tenant:
        tenant = Tenant(
            id=uuid.uuid4().hex[:16],
            name=name,
            destination=destination,
            created_at=datetime.now(UTC),
            hook_token=secrets.token_urlsafe(32),
        )
        pipe = self._redis.pipeline()
        pipe.hset(tenant_key(tenant.id), mapping=_record_fields(tenant))
        pipe.set(hook_token_key(tenant.hook_token), tenant.id)
        pipe.sadd(_ALL_TENANTS, tenant.id)
        pipe.execute()
        return tenant

    def get(self, tenant_id: str) -> Tenant | None:
        stored = self._redis.hgetall(tenant_key(tenant_id))
        if not stored:
            return None
        text = {reply_text(key): reply_text(value) for key, value in stored.items()}
        return Tenant(
            id=text["id"],
            name=text["name"],
            destination=Destination(text["destination"]),
            created_at=datetime.fromisoformat(text["created_at"]),
            hook_token=text["hook_token"],
            settings_saved=text.get("settings_saved") == "1",
        )

    def ids(self) -> list[str]:
        return sorted(reply_text(member) for member in self._redis.smembers(_ALL_TENANTS))

    def rotate_hook_token(self, tenant_id: str) -> tuple[str, Tenant]:
        """A new hook token for the tenant; the old one stops working in the same transaction.
        Returns the old token (its Keap subscriptions are to be removed) and the tenant."""
        tenant = self.get(tenant_id)
        if tenant is None:
            raise UnknownTenant(tenant_id)
        rotated = replace(tenant, hook_token=secrets.token_urlsafe(32))
        pipe = self._redis.pipeline()
        pipe.set(hook_token_key(rotated.hook_token), tenant.id)
        pipe.delete(hook_token_key(tenant.hook_token))
        pipe.hset(tenant_key(tenant.id), "hook_token", rotated.hook_token)
        pipe.execute()
        return tenant.hook_token, rotated

    def tenant_for_hook_token(self, token: str) -> str | None:
        if not token or len(token) > 128:
            return None
        found = self._redis.get(hook_token_key(token))
        return reply_text(found) if found is not None else None

    def hook_tokens(self) -> dict[str, str]:
        """Every tenant's hook token, token -> tenant id."""
        tokens = {}
        for tenant_id in self.ids():
            tenant = self.get(tenant_id)
            if tenant is not None:
                tokens[tenant.hook_token] = tenant.id
        return tokens

    def settings(self, tenant_id: str) -> TenantSettings:
        """The saved settings, or the defaults for the tenant's destination until then;
        `UnknownTenant` for a tenant we do not have (the one lookup every consumer uses)."""
        raw = self._redis.get(settings_key(tenant_id))
        if raw is not None:
            return _settings_from_stored(raw)
        tenant = self.get(tenant_id)
        if tenant is None:
            raise UnknownTenant(tenant_id)
        return TenantSettings(destination=tenant.destination)

    def save_settings(self, tenant_id: str, settings: TenantSettings) -> None:
        pipe = self._redis.pipeline()
        pipe.set(settings_key(tenant_id), json.dumps(settings_to_json(settings)))
        pipe.hset(tenant_key(tenant_id), "settings_saved", "1")
        pipe.execute()

    def processing_enabled(self, tenant_id: str) -> bool:
        return bool(self.processing_enabled_among([tenant_id]))

    def processing_enabled_among(self, tenant_ids: Sequence[str]) -> list[str]:
        """Those of `tenant_ids` whose processing is on, in order, read in one round trip (a
        poller asks this of every tenant each tick)."""
        return [
            tenant_id
            for tenant_id, settings in self.settings_among(tenant_ids).items()
            if settings.sync.processing_enabled
        ]

    def settings_among(self, tenant_ids: Sequence[str]) -> dict[str, TenantSettings]:
        """The settings of those of `tenant_ids` that have any, in order, in one round trip."""
        if not tenant_ids:
            return {}
        stored = self._redis.mget([settings_key(tenant_id) for tenant_id in tenant_ids])
        return {
            tenant_id: _settings_from_stored(raw)
            for tenant_id, raw in zip(tenant_ids, stored, strict=True)
            if raw is not None
        }

    def set_processing(self, tenant_id: str, enabled: bool) -> TenantSettings:
        """Flip the switch only; the caller has checked the prerequisites."""
        current = self.settings(tenant_id)
        updated = replace(current, sync=replace(current.sync, processing_enabled=enabled))
        self.save_settings(tenant_id, updated)
        return updated

    def last_poll(self, tenant_id: str) -> datetime | None:
        raw = self._redis.get(poll_last_key(tenant_id))
        return datetime.fromisoformat(reply_text(raw)) if raw else None


def _record_fields(tenant: Tenant) -> dict[FieldT, EncodableT]:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "destination": tenant.destination.value,
        "created_at": tenant.created_at.isoformat(),
        "hook_token": tenant.hook_token,
        "settings_saved": "1" if tenant.settings_saved else "0",
    }


@lru_cache(maxsize=4096)
def _settings_from_stored(raw: bytes | str) -> TenantSettings:
    """Settings as stored, parsed once per distinct document: every consumer reads a tenant's
    settings for each message, always from Redis, and the parse costs more than the read.
    TenantSettings is immutable, so the one parsed copy is shared."""
    return settings_from_json(json.loads(raw))
