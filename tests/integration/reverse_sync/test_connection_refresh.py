"""A quiet tenant's connections are refreshed before their refresh tokens lapse unused
(Xero: 60 days), by a periodic round of the reverse-sync worker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from invoicesync.crypto import TokenCipher
from invoicesync.domain.canonical import Destination
from invoicesync.stores.notification_outbox import NotificationOutbox
from invoicesync.stores.tokens import TokenStore
from notifications.outbox_consumer import OutboxAppender

pytestmark = pytest.mark.infra

DAY = 86400


def _advance_xero_clock(stack, days: int) -> None:
    requests.post(
        f"{stack.xero_url}/_sandbox/clock", json={"advance_seconds": days * DAY}, timeout=5
    ).raise_for_status()


def _tokens(stack) -> TokenStore:
    return TokenStore(stack.redis, TokenCipher(stack.settings.token_encryption_key))


def test_a_quiet_xero_connection_is_refreshed_so_it_outlives_60_days_unused(stack):
    tenant = stack.tenant(Destination.XERO)
    store = _tokens(stack)
    connection = store.load("xero", tenant.tenant_id)
    # Forty quiet days on both sides: nothing has used or refreshed the connection since.
    store.save(replace(connection, connected_at=datetime.now(UTC) - timedelta(days=40)))
    _advance_xero_clock(stack, 40)

    # This round or the worker's own periodic one, whichever takes the lock first, refreshes it.
    stack.service.connection_refresher.refresh_idle_connections()
    _advance_xero_clock(stack, 40)  # 80 days after the consent, 40 after the refresh

    assert store.load("xero", tenant.tenant_id).refresh_token != connection.refresh_token
    assert stack.xero_client().accounts(tenant.tenant_id)
    assert store.load("xero", tenant.tenant_id).status == "connected"


def test_a_connection_refreshed_recently_is_left_alone(stack):
    tenant = stack.tenant(Destination.XERO)
    before = _tokens(stack).load("xero", tenant.tenant_id)

    stack.service.connection_refresher.refresh_idle_connections()

    assert _tokens(stack).load("xero", tenant.tenant_id).refresh_token == before.refresh_token


def test_a_quiet_connection_that_cannot_be_refreshed_warns_once_before_it_lapses(stack):
    """The refresher's round: the refresh fails (Xero's token endpoint answers 500), so the
    connection nears Xero's 60 days unused; one warning goes out through sync.results, which
    the activity log records and the notifications outbox queues for an email."""
    tenant = stack.tenant(Destination.XERO)
    store = _tokens(stack)
    connection = store.load("xero", tenant.tenant_id)
    store.save(replace(connection, connected_at=datetime.now(UTC) - timedelta(days=50)))
    stack.faults(stack.xero_url, endpoints=["/connect/token"], error_rate=1.0)
    try:
        refreshed = stack.service.connection_refresher.refresh_idle_connections()
    finally:
        stack.faults(stack.xero_url, endpoints=[], error_rate=0.0)
    notices = stack.service.connection_refresher.health_notices()
    repeated = stack.service.connection_refresher.health_notices()

    mine = [n for n in notices if n.envelope.tenant_id == tenant.tenant_id]
    print(f"refreshed {refreshed}; warnings {len(mine)}; repeated {len(repeated)}")
    [warning] = mine
    assert warning.envelope.payload["object_type"] == "connection"
    assert warning.envelope.payload["action"] == "failed"
    assert "refresh_token_lapsing" in warning.envelope.payload["reason"]
    assert store.load("xero", tenant.tenant_id).refresh_failed_at is not None
    assert [n for n in repeated if n.envelope.tenant_id == tenant.tenant_id] == []
    outbox = NotificationOutbox(stack.redis)
    OutboxAppender(outbox).handle(warning.envelope)
    [queued] = outbox.pending(tenant.tenant_id)
    assert "lapses on" in queued.result.reason
