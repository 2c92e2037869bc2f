"""Each connection's state and next risk on the Connections page and in the tenant's /status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from invoicesync.stores.connection_health import record_hook_check
from invoicesync.stores.tokens import ProviderConnection

pytestmark = pytest.mark.infra


def _connect(console, provider: str, tenant_id: str, renewed_days_ago: int) -> None:
    renewed = datetime.now(UTC) - timedelta(days=renewed_days_ago)
    console.services.tokens.save(
        ProviderConnection(
            provider=provider,
            tenant_id=tenant_id,
            access_token="access",
            refresh_token="refresh",
            access_expires_at=renewed + timedelta(minutes=30),
            refresh_expires_at=None,
            external_id=f"{provider}-org",
            external_name=f"{provider.title()} Books",
            connected_at=renewed,
        )
    )


def test_a_quiet_xero_connection_shows_when_it_lapses_and_keap_hooks_not_active(console):
    tenant_id, key = console.new_tenant("Acme")
    _connect(console, "keap", tenant_id, renewed_days_ago=1)
    _connect(console, "xero", tenant_id, renewed_days_ago=50)  # Xero: 60 days unused
    record_hook_check(
        console.services.redis, tenant_id, ("order.add",), datetime.now(UTC) - timedelta(hours=1)
    )
    console.sign_in(key)

    page = console.client.get(f"/tenants/{tenant_id}/connections").get_data(as_text=True)
    status = console.client.get(
        f"/api/v1/tenants/{tenant_id}/status", headers={"Authorization": f"Bearer {key}"}
    ).get_json()

    health = status["connection_health"]
    print({provider: h["next_risk"]["kind"] for provider, h in health.items()})
    assert health["xero"]["state"] == "at_risk"
    assert health["xero"]["next_risk"]["kind"] == "refresh_token_lapsing"
    assert health["keap"]["next_risk"]["kind"] == "hooks_unverified"
    lapses_on = datetime.fromisoformat(health["xero"]["refresh_lapses_at"])
    assert f"lapses on {lapses_on:%d %B %Y}" in page
    assert "hook subscriptions for order.add are not active" in page
    assert page.count('data-health="at_risk"') == 2
