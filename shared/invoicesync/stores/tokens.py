"""Provider connections in Redis: tokens encrypted at rest, the rest readable for status pages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

import redis
from redis.typing import EncodableT, FieldT

from invoicesync.crypto import TokenCipher
from invoicesync.stores.redis_connection import reply_bytes, reply_text

ConnectionStatus = Literal["connected", "disconnected"]


@dataclass(frozen=True)
class ProviderConnection:
    """One tenant's authorisation at one provider (keap, xero or qbo)."""

    provider: str
    tenant_id: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    external_id: str  # Keap app id, Xero tenant id or QBO realm id
    external_name: str = ""
    connected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: ConnectionStatus = "connected"
    disconnected_reason: str = ""
    refreshed_at: datetime | None = None  # None: not refreshed since `connected_at`
    # Written before a refresh call and cleared when its answer is saved: still set afterwards
    # means an answer never arrived, so the provider may have rotated the pair without us.
    refresh_started_at: datetime | None = None
    refresh_failed_at: datetime | None = None  # the last refresh that failed, until one works
    refresh_error: str = ""
    # Something a person must act on, beyond `disconnected_reason` (cleared by a reconnect).
    alert: str = ""
    forbidden_at: datetime | None = None  # the provider's last 403 for this connection
    forbidden_reason: str = ""
    disconnected_at: datetime | None = None  # when it was marked lost (None: never, or unknown)

    @property
    def last_renewed_at(self) -> datetime:
        """When the refresh token was last issued: refresh tokens lapse counted from here."""
        return self.refreshed_at or self.connected_at


_SET_IF_STORED = """
if redis.call('exists', KEYS[1]) == 1 then redis.call('hset', KEYS[1], unpack(ARGV)) end
"""


def connection_key(provider: str, tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:connection:{provider}"


class TokenStore:
    """Saves each connection as one Redis hash; only the `secrets` field holds the tokens."""

    def __init__(self, client: redis.Redis, cipher: TokenCipher) -> None:
        self._redis = client
        self._cipher = cipher

    def save(self, connection: ProviderConnection) -> None:
        secrets = json.dumps(
            {"access_token": connection.access_token, "refresh_token": connection.refresh_token}
        ).encode()
        fields: dict[FieldT, EncodableT] = {
            "secrets": self._cipher.encrypt(secrets),
            "access_expires_at": connection.access_expires_at.isoformat(),
            "refresh_expires_at": _iso_or_empty(connection.refresh_expires_at),
            "external_id": connection.external_id,
            "external_name": connection.external_name,
            "connected_at": connection.connected_at.isoformat(),
            "status": connection.status,
            "disconnected_reason": connection.disconnected_reason,
            "refreshed_at": _iso_or_empty(connection.refreshed_at),
            "refresh_started_at": _iso_or_empty(connection.refresh_started_at),
            "refresh_failed_at": _iso_or_empty(connection.refresh_failed_at),
            "refresh_error": connection.refresh_error,
            "alert": connection.alert,
            "forbidden_at": _iso_or_empty(connection.forbidden_at),
            "forbidden_reason": connection.forbidden_reason,
            "disconnected_at": _iso_or_empty(connection.disconnected_at),
        }
        # One HSET: readers never see a new access token beside an old refresh token.
        self._redis.hset(connection_key(connection.provider, connection.tenant_id), mapping=fields)

    def load(self, provider: str, tenant_id: str) -> ProviderConnection | None:
        stored = self._redis.hgetall(connection_key(provider, tenant_id))
        if not stored:
            return None
        values = {reply_text(key): value for key, value in stored.items()}
        secrets = json.loads(self._cipher.decrypt(reply_bytes(values["secrets"])))
        text = {key: reply_text(value) for key, value in values.items() if key != "secrets"}
        return ProviderConnection(
            provider=provider,
            tenant_id=tenant_id,
            access_token=secrets["access_token"],
            refresh_token=secrets["refresh_token"],
            access_expires_at=datetime.fromisoformat(text["access_expires_at"]),
            refresh_expires_at=_datetime_or_none(text.get("refresh_expires_at", "")),
            external_id=text.get("external_id", ""),
            external_name=text.get("external_name", ""),
            connected_at=datetime.fromisoformat(text["connected_at"]),
            status="disconnected" if text.get("status") == "disconnected" else "connected",
            disconnected_reason=text.get("disconnected_reason", ""),
            refreshed_at=_datetime_or_none(text.get("refreshed_at", "")),
            refresh_started_at=_datetime_or_none(text.get("refresh_started_at", "")),
            refresh_failed_at=_datetime_or_none(text.get("refresh_failed_at", "")),
            refresh_error=text.get("refresh_error", ""),
            alert=text.get("alert", ""),
            forbidden_at=_datetime_or_none(text.get("forbidden_at", "")),
            forbidden_reason=text.get("forbidden_reason", ""),
            disconnected_at=_datetime_or_none(text.get("disconnected_at", "")),
        )

    def mark_disconnected(
        self, provider: str, tenant_id: str, reason: str, *, alert: str = ""
    ) -> None:
        connection = self.load(provider, tenant_id)
        if connection is None:
            return
        # Lost already: the first loss is when the gap began.
        lost_at = connection.disconnected_at if connection.status == "disconnected" else None
        lost = replace(
            connection,
            status="disconnected",
            disconnected_reason=reason,
            alert=alert,
            disconnected_at=lost_at or datetime.now(UTC),
        )
        self.save(lost)

    def note(self, provider: str, tenant_id: str, **fields: datetime | str | None) -> None:
        """Set plain fields of a stored connection (refresh bookkeeping, the last 403) without
        touching its tokens; nothing happens to a connection that is not stored."""
        key = connection_key(provider, tenant_id)
        values: dict[FieldT, EncodableT] = {
            name: value.isoformat() if isinstance(value, datetime) else (value or "")
            for name, value in fields.items()
        }
        flat = [item for pair in values.items() for item in pair]
        self._redis.eval(_SET_IF_STORED, 1, key, *flat)

    def delete(self, provider: str, tenant_id: str) -> None:
        self._redis.delete(connection_key(provider, tenant_id))


def _iso_or_empty(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def _datetime_or_none(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
