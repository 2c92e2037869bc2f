"""The notification settings: the daily summary hour, the monthly reconciliation email, and a
preview of the summary."""

from __future__ import annotations

from datetime import UTC, datetime

from invoicesync.events import SyncAction, SyncResult
from invoicesync.stores.notification_outbox import NotificationOutbox


def test_the_daily_summary_hour_is_saved_from_the_settings_form(console):
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)
    path = f"/tenants/{tenant_id}/settings"

    response = console.client.post(
        path,
        data={
            "csrf_token": console.csrf_token(path),
            "sync.email_mode": "daily",
            "sync.daily_summary_hour": "18",
        },
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    saved = console.services.tenants.settings(tenant_id).sync
    assert (saved.email_mode.value, saved.daily_summary_hour) == ("daily", 18)
    assert 'value="18" selected' in response.get_data(as_text=True)


def test_the_monthly_reconciliation_email_is_opted_into_from_the_settings_form(console):
    tenant_id, key = console.new_tenant("Acme Monthly")
    console.sign_in(key)
    path = f"/tenants/{tenant_id}/settings"
    assert "Monthly reconciliation email" in console.client.get(path).get_data(as_text=True)

    response = console.client.post(
        path,
        data={
            "csrf_token": console.csrf_token(path),
            "sync.notification_email": "books@acme.test",
            "sync.monthly_reconciliation_email": "true",
        },
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert console.services.tenants.settings(tenant_id).sync.monthly_reconciliation_email


def test_the_preview_shows_the_summary_of_what_is_waiting_and_sends_nothing(console):
    tenant_id, key = console.new_tenant("Acme Preview")
    console.sign_in(key)
    outbox = NotificationOutbox(console.services.redis)
    failed = SyncResult(
        destination="xero",
        object_type="invoice",
        keap_id="42",
        action=SyncAction.FAILED,
        recorded_at=datetime.now(UTC),
        reason="Xero says: account code 999 is not valid",
        invoice_number="INV-42",
    )
    path = f"/tenants/{tenant_id}/settings/summary"

    empty = console.client.get(path).get_data(as_text=True)
    outbox.append(tenant_id, "e1", failed, datetime.now(UTC))
    page = console.client.get(path).get_data(as_text=True)

    assert "Nothing is waiting" in empty
    assert "InvoiceSync daily summary for Acme Preview" in page and ": 1 failed" in page
    assert "invoice INV-42 (Keap id 42)" in page and "account code 999" in page
    assert len(outbox.pending(tenant_id)) == 1
    settings_page = console.client.get(f"/tenants/{tenant_id}/settings").get_data(as_text=True)
    assert f'href="/tenants/{tenant_id}/settings/summary"' in settings_page
