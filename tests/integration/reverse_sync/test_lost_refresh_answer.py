"""A refresh whose answer is lost in transit (the stand-in rotates the pair, then answers after
the client's timeout): Keap, which rotates with no grace, leaves the connection unusable, and
the tenant is alerted (connection state, activity entry, notification) rather than silently
disconnected; Xero's 30-minute grace lets the retry keep the tenant connected."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from invoicesync.crypto import TokenCipher
from invoicesync.domain.canonical import Destination
from invoicesync.domain.connection_health import HealthState, RiskKind
from invoicesync.errors import Disconnected, Transient
from invoicesync.stores.access_tokens import access_tokens_from_settings
from invoicesync.stores.connection_health import (
    ConnectionHealthReader,
    health_policy_from_settings,
)
from invoicesync.stores.tokens import TokenStore

pytestmark = pytest.mark.infra

LATE_SECONDS = 3  # past the stack's 1 s token timeout


def _tokens(stack) -> TokenStore:
    return TokenStore(stack.redis, TokenCipher(stack.settings.token_encryption_key))


def _access_due(stack, provider: str, tenant_id: str) -> None:
    """Make the stored access token due, so the next call refreshes."""
    store = _tokens(stack)
    connection = store.load(provider, tenant_id)
    store.save(replace(connection, access_expires_at=datetime.now(UTC) - timedelta(minutes=1)))


def _lose_one_refresh_answer(stack, base_url: str, token_path: str, provider: str, tenant_id):
    access = access_tokens_from_settings(stack.settings, stack.redis)
    stack.faults(base_url, endpoints=[token_path], late_answer_seconds=LATE_SECONDS)
    try:
        with pytest.raises(Transient):
            access.access_token(provider, tenant_id)
    finally:
        stack.faults(base_url, endpoints=[], late_answer_seconds=0)
    return access


def test_a_lost_keap_refresh_answer_alerts_the_tenant_instead_of_disconnecting_silently(stack):
    tenant = stack.tenant(Destination.XERO)
    _access_due(stack, "keap", tenant.tenant_id)

    access = _lose_one_refresh_answer(
        stack, stack.keap.base_url, "/token", "keap", tenant.tenant_id
    )
    assert _tokens(stack).load("keap", tenant.tenant_id).refresh_started_at is not None
    # Keap rotated the pair when it took the lost call: the stored refresh token is spent.
    with pytest.raises(Disconnected, match="answer to an earlier refresh"):
        access.access_token("keap", tenant.tenant_id)
    notices = stack.service.connection_refresher.health_notices()
    again = stack.service.connection_refresher.health_notices()

    connection = _tokens(stack).load("keap", tenant.tenant_id)
    reader = ConnectionHealthReader(
        stack.redis, _tokens(stack), health_policy_from_settings(stack.settings)
    )
    health = reader.health("keap", tenant.tenant_id, datetime.now(UTC))
    reasons = [
        n.envelope.payload["reason"]
        for n in notices
        if n.envelope.payload["object_type"] == "connection"
    ]
    print(f"connection alerts published: {len(reasons)}, repeated: {len(again)}")
    assert connection.status == "disconnected" and "Reconnect" in connection.alert
    assert health.state is HealthState.LOST
    assert health.next_risk.kind is RiskKind.REFRESH_ANSWER_LOST
    assert len(reasons) == 1 and "refresh_answer_lost" in reasons[0]
    assert again == []


def test_a_lost_xero_refresh_answer_is_retried_within_the_grace_and_stays_connected(stack):
    tenant = stack.tenant(Destination.XERO)
    _access_due(stack, "xero", tenant.tenant_id)

    access = _lose_one_refresh_answer(
        stack, stack.xero_url, "/connect/token", "xero", tenant.tenant_id
    )
    token = access.access_token("xero", tenant.tenant_id)

    connection = _tokens(stack).load("xero", tenant.tenant_id)
    assert connection.status == "connected" and connection.access_token == token
    assert connection.refresh_started_at is None and connection.refresh_failed_at is None
    assert stack.xero_client().accounts(tenant.tenant_id)
