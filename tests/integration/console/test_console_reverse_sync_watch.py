"""Health shows what ReverseSync's payment poll spends of the tenant's ledger budget, and
Connections whether the ledger's webhooks have proved their signatures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import SyncSettings, TenantSettings
from invoicesync.stores.ledger_watch import LedgerWatch, webhook_state_key

pytestmark = pytest.mark.infra


def test_health_shows_the_xero_payment_poll_against_the_daily_budget(console):
    tenant_id, key = console.new_tenant("Acme")
    sync = SyncSettings(reverse_sync_enabled=True, reverse_sync_start_date=date(2026, 1, 1))
    console.services.tenants.save_settings(tenant_id, TenantSettings(Destination.XERO, sync=sync))
    LedgerWatch(console.services.redis).count_poll_calls(tenant_id, 7, datetime.now(UTC))
    console.sign_in(key)

    page = console.client.get(f"/tenants/{tenant_id}/health").get_data(as_text=True)

    assert "Every 5 minutes: 288 Xero calls a day, 5.8% of the 5,000 a day" in page
    assert "7 made today (UTC)" in page


def test_health_says_nothing_of_a_poll_when_reverse_sync_is_off(console):
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)

    page = console.client.get(f"/tenants/{tenant_id}/health").get_data(as_text=True)

    assert "ReverseSync payment poll" not in page


def test_connections_says_when_the_ledger_webhooks_were_verified(console):
    services = console.services
    services.redis.delete(webhook_state_key("xero"))  # the app's, not a tenant's: start clean
    services.settings = replace(
        services.settings, xero_webhook_key="key", qbo_webhook_verifier_token=""
    )
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)
    assert "not verified yet" in console.client.get(f"/tenants/{tenant_id}/connections").get_data(
        as_text=True
    )

    checked = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    LedgerWatch(services.redis).webhook_signed("xero", checked, intent_check=True)
    page = console.client.get(f"/tenants/{tenant_id}/connections").get_data(as_text=True)

    assert "Xero webhooks verified (intent to receive answered 03 December 2026 09:30 UTC)" in page
    qbo_id, qbo_key = console.new_tenant("Globex", Destination.QBO)
    console.sign_in(qbo_key)
    qbo_page = console.client.get(f"/tenants/{qbo_id}/connections").get_data(as_text=True)
    assert "no webhook verifier token" in qbo_page
