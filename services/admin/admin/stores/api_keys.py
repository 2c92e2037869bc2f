"""Admin API keys: shown once, stored as SHA-256 hashes, checked in constant time."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from invoicesync.stores.redis_connection import reply_text

KEY_PREFIX = "isk"
_INDEX = "invoicesync:api-keys"


class Role(enum.StrEnum):
    OPERATOR = "operator"
    TENANT = "tenant"


@dataclass(frozen=True)
class ApiKey:
    """Who a presented key belongs to. An operator sees every tenant, a tenant key only its own."""

    key_id: str
    role: Role
    tenant_id: str | None
    label: str
    created_at: datetime

    def may_access(self, tenant_id: str) -> bool:
        return self.role is Role.OPERATOR or self.tenant_id == tenant_id


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str  # the full key; exists only in the answer that creates it


def _record_key(key_id: str) -> str:
    return f"invoicesync:api-key:{key_id}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def issue(self, role: Role, tenant_id: str | None = None, label: str = "") -> IssuedKey:
        if (role is Role.TENANT) != (tenant_id is not None):
            raise ValueError("a tenant key names its tenant; an operator key names none")
        key_id = secrets.token_hex(4)
        secret = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        created_at = datetime.now(UTC)
        record = {
            "hash": _digest(secret),
            "role": role.value,
            "tenant_id": tenant_id,
            "label": label,
            "created_at": created_at.isoformat(),
        }
        pipe = self._redis.pipeline()
        pipe.set(_record_key(key_id), json.dumps(record))
        pipe.sadd(_INDEX, key_id)
        pipe.execute()
        return IssuedKey(ApiKey(key_id, role, tenant_id, label, created_at), secret)

    def authenticate(self, presented: str) -> ApiKey | None:
        """The key's owner, or None for anything that is not a live key."""
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
            return None
        raw = self._redis.get(_record_key(parts[1]))
        if raw is None:
            return None
        record = json.loads(raw)
        if not hmac.compare_digest(record["hash"], _digest(presented)):
            return None
        return _api_key(parts[1], record)

    def get(self, key_id: str) -> ApiKey | None:
        """A key's owner by its id (the part of the key between the underscores)."""
        raw = self._redis.get(_record_key(key_id))
        if raw is None:
            return None
        return _api_key(key_id, json.loads(raw))

    def for_tenant(self, tenant_id: str) -> list[ApiKey]:
        keys = [self.get(reply_text(key_id)) for key_id in self._redis.smembers(_INDEX)]
        found = [key for key in keys if key is not None and key.tenant_id == tenant_id]
        return sorted(found, key=lambda key: key.created_at)

    def rotate(self, key_id: str) -> IssuedKey | None:
        """A new key for the same owner and label; the old one is revoked. None: no such key."""
        old = self.get(key_id)
        if old is None:
            return None
        issued = self.issue(old.role, old.tenant_id, old.label)
        self.revoke(key_id)
        return issued

    def revoke(self, key_id: str) -> None:
        pipe = self._redis.pipeline()
        pipe.delete(_record_key(key_id))
        pipe.srem(_INDEX, key_id)
        pipe.execute()


def _api_key(key_id: str, record: dict) -> ApiKey:
    return ApiKey(
        key_id=key_id,
        role=Role(record["role"]),
        tenant_id=record["tenant_id"],
        label=record.get("label", ""),
        created_at=datetime.fromisoformat(record["created_at"]),
    )
