"""The facts connection health is computed from, read from Redis, and which risks were mailed.

The tokens' hash holds the refresh bookkeeping and the last 403 (stores/tokens.py); the last
Keap hook check is recorded here by whoever runs it (the OAuth callback, the poller).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import redis

from invoicesync.domain.connection_health import (
    ConnectionFacts,
    ConnectionHealth,
    ConnectionRisk,
    HealthPolicy,
    connection_health,
)
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import reply_text
from invoicesync.stores.tokens import ProviderConnection, TokenStore

# A mailed risk is not mailed again for this long (unless its due date moves).
NOTICE_QUIET = timedelta(days=30)


def _hook_check_key(tenant_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:keap-hooks:last-check"


def _notice_key(tenant_id: str, provider: str, risk: ConnectionRisk) -> str:
    due = risk.due_at.date().isoformat() if risk.due_at else "-"
    return f"invoicesync:tenant:{tenant_id}:connection-notice:{provider}:{risk.kind.value}:{due}"


def record_hook_check(
    client: redis.Redis, tenant_id: str, unverified: tuple[str, ...], at: datetime
) -> None:
    document = {"checked_at": at.isoformat(), "unverified": list(unverified)}
    client.set(_hook_check_key(tenant_id), json.dumps(document))


def health_policy_from_settings(settings: Settings) -> HealthPolicy:
    return HealthPolicy(
        # The idle refresher renews at this age; a day past it means it is not managing to.
        idle_days=settings.connection_refresh_max_idle_days + 1,
        lapse_warning_days=settings.connection_lapse_warning_days,
        hook_check_max_age=timedelta(hours=settings.hook_check_max_age_hours),
    )


class ConnectionHealthReader:
    def __init__(self, client: redis.Redis, tokens: TokenStore, policy: HealthPolicy) -> None:
        self._redis = client
        self._tokens = tokens
        self._policy = policy

    def health(self, provider: str, tenant_id: str, now: datetime) -> ConnectionHealth:
        facts = self.facts(provider, tenant_id, self._tokens.load(provider, tenant_id))
        return connection_health(facts, self._policy, now)

    def facts(
        self, provider: str, tenant_id: str, connection: ProviderConnection | None
    ) -> ConnectionFacts:
        if connection is None:
            return ConnectionFacts(provider, connected=None)
        checked_at, unverified = self._hook_check(tenant_id) if provider == "keap" else (None, ())
        return ConnectionFacts(
            provider=provider,
            connected=connection.status == "connected",
            disconnected_reason=connection.disconnected_reason,
            alert=connection.alert,
            last_renewed_at=connection.last_renewed_at,
            refresh_expires_at=connection.refresh_expires_at,
            refresh_started_at=connection.refresh_started_at,
            refresh_failed_at=connection.refresh_failed_at,
            refresh_error=connection.refresh_error,
            forbidden_at=connection.forbidden_at,
            forbidden_reason=connection.forbidden_reason,
            hooks_checked_at=checked_at,
            hooks_unverified=unverified,
        )

    def _hook_check(self, tenant_id: str) -> tuple[datetime | None, tuple[str, ...]]:
        raw = self._redis.get(_hook_check_key(tenant_id))
        if raw is None:
            return None, ()
        document = json.loads(reply_text(raw))
        return datetime.fromisoformat(document["checked_at"]), tuple(document["unverified"])

    def first_notice(self, tenant_id: str, provider: str, risk: ConnectionRisk) -> bool:
        """True once per risk (and due date) in NOTICE_QUIET: the caller then sends it."""
        key = _notice_key(tenant_id, provider, risk)
        ttl = int(NOTICE_QUIET.total_seconds())
        return bool(self._redis.set(key, "1", nx=True, ex=ttl))


def health_json(health: ConnectionHealth) -> dict:
    """The `health` of a connection in `/status`."""

    def risk_json(risk: ConnectionRisk) -> dict:
        return {
            "kind": risk.kind.value,
            "severity": risk.severity.value,
            "message": risk.message,
            "due_at": risk.due_at.isoformat() if risk.due_at else None,
        }

    return {
        "state": health.state.value,
        "next_risk": risk_json(health.next_risk) if health.next_risk else None,
        "risks": [risk_json(risk) for risk in health.risks],
        "refresh_lapses_at": (
            health.refresh_lapses_at.isoformat() if health.refresh_lapses_at else None
        ),
    }
