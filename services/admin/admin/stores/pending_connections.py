"""A consent waiting for a decision: confirming the tenant, choosing among several Xero
organisations, or an operator's confirmation for an organisation another tenant has.

The callback never binds at once: it parks the tokens here, encrypted, with the API key that
started the flow, until that key (or its console session) confirms. Half an hour: the access
token's own lifetime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

from invoicesync.clients.oauth import TokenResponse
from invoicesync.crypto import TokenCipher
from invoicesync.stores.redis_connection import reply_bytes

PENDING_TTL_SECONDS = 1800


def pending_key(tenant_id: str, provider: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:pending-connection:{provider}"


@dataclass(frozen=True)
class Organisation:
    organisation_id: str
    name: str

    def to_json(self) -> dict[str, str]:
        return {"organisation_id": self.organisation_id, "name": self.name}


@dataclass(frozen=True)
class PendingConnection:
    tenant_id: str
    provider: str
    tokens: TokenResponse = field(repr=False)
    organisations: tuple[Organisation, ...]
    started_by: str  # the API key id that started the flow; only it may confirm

    def organisation(self, organisation_id: str) -> Organisation | None:
        return next((o for o in self.organisations if o.organisation_id == organisation_id), None)


class PendingConnections:
    def __init__(self, client: redis.Redis, cipher: TokenCipher) -> None:
        self._redis = client
        self._cipher = cipher

    def park(self, pending: PendingConnection) -> None:
        document: dict[str, Any] = {
            "access_token": pending.tokens.access_token,
            "refresh_token": pending.tokens.refresh_token,
            "expires_in": pending.tokens.expires_in,
            "x_refresh_token_expires_in": pending.tokens.x_refresh_token_expires_in,
            "organisations": [o.to_json() for o in pending.organisations],
            "started_by": pending.started_by,
        }
        self._redis.set(
            pending_key(pending.tenant_id, pending.provider),
            self._cipher.encrypt(json.dumps(document).encode()),
            ex=PENDING_TTL_SECONDS,
        )

    def load(self, tenant_id: str, provider: str) -> PendingConnection | None:
        raw = self._redis.get(pending_key(tenant_id, provider))
        if raw is None:
            return None
        document = json.loads(self._cipher.decrypt(reply_bytes(raw)))
        tokens = TokenResponse(
            access_token=document["access_token"],
            refresh_token=document["refresh_token"],
            expires_in=int(document["expires_in"]),
            x_refresh_token_expires_in=document.get("x_refresh_token_expires_in"),
        )
        organisations = tuple(
            Organisation(o["organisation_id"], o["name"]) for o in document["organisations"]
        )
        started_by = str(document.get("started_by", ""))
        return PendingConnection(tenant_id, provider, tokens, organisations, started_by)

    def discard(self, tenant_id: str, provider: str) -> None:
        self._redis.delete(pending_key(tenant_id, provider))
