"""The admin API through the real Kafka and Redis: keys, tenants, settings, Sync ID, backfill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from invoicesync.events import (
    EventType,
    KeapNotification,
    NotificationSource,
    SyncAction,
    SyncResult,
    Topic,
    envelope_for,
)
from invoicesync.stores.held_notifications import HeldNotifications
from invoicesync.stores.tokens import ProviderConnection, connection_key
from tests.integration.topic_reading import read_topic


def test_a_request_without_a_key_is_401_with_a_json_error(admin):
    tenant = admin.create_tenant()

    response = admin.client.get(f"/api/v1/tenants/{tenant['id']}")

    assert response.status_code == 401
    assert response.get_json()["error"]["status"] == 401


def test_an_unknown_key_is_401(admin):
    tenant = admin.create_tenant()
    forged = "isk_00000000_" + "x" * 43

    response = admin.client.get(f"/api/v1/tenants/{tenant['id']}", headers=admin.headers(forged))

    assert response.status_code == 401


def test_a_tenant_key_sees_its_own_tenant_and_gets_403_for_another(admin):
    mine = admin.create_tenant("Mine")
    other = admin.create_tenant("Other")

    own = admin.client.get(f"/api/v1/tenants/{mine['id']}", headers=admin.headers(mine["api_key"]))
    foreign = admin.client.get(
        f"/api/v1/tenants/{other['id']}", headers=admin.headers(mine["api_key"])
    )

    assert own.status_code == 200
    assert own.get_json()["name"] == "Mine"
    assert "api_key" not in own.get_json()
    assert foreign.status_code == 403


def test_only_an_operator_creates_tenants(admin):
    tenant = admin.create_tenant()

    response = admin.client.post(
        "/api/v1/tenants",
        json={"name": "Sneaky", "destination": "qbo"},
        headers=admin.headers(tenant["api_key"]),
    )

    assert response.status_code == 403


def test_a_created_tenant_has_an_unguessable_hook_url(admin, admin_settings):
    tenant = admin.create_tenant()

    assert tenant["hook_url"].startswith(f"{admin_settings.hooks_base_url}/hooks/keap/")
    assert len(tenant["hook_url"].rsplit("/", 1)[1]) >= 43


def test_a_bad_tenant_body_names_the_field(admin):
    response = admin.client.post(
        "/api/v1/tenants", json={"name": "X", "destination": "sage"}, headers=admin.headers()
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "destination"


def test_settings_round_trip(admin):
    tenant = admin.create_tenant()
    url = f"/api/v1/tenants/{tenant['id']}/settings"
    body = {
        "destination": "xero",
        "xero": {"default_account_code": "400", "invoice_status": "DRAFT"},
        "sync": {"due_date_days": 14, "start_point": {"kind": "date", "on_date": "2025-01-31"}},
    }

    saved = admin.client.put(url, json=body, headers=admin.headers())
    read = admin.client.get(url, headers=admin.headers())

    assert saved.status_code == 200, saved.get_json()
    document = read.get_json()
    assert document["saved"] is True
    assert document["xero"]["default_account_code"] == "400"
    assert document["xero"]["invoice_status"] == "DRAFT"
    assert document["sync"]["due_date_days"] == 14
    assert document["sync"]["start_point"] == {
        "kind": "date",
        "invoice_id": None,
        "on_date": "2025-01-31",
    }


def test_a_bad_setting_is_named_by_its_dotted_path(admin):
    tenant = admin.create_tenant()
    url = f"/api/v1/tenants/{tenant['id']}/settings"

    response = admin.client.put(
        url, json={"destination": "xero", "sync": {"due_date_days": -1}}, headers=admin.headers()
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "sync.due_date_days"


@pytest.mark.parametrize(
    "prefix, saved",
    [("K-", True), ("KEAP.2026_", True), ("TOO-LONG-PFX", False), ("K/", False), ('K"', False)],
)
def test_the_invoice_number_prefix_is_short_and_fits_both_ledgers_number_fields(
    admin, prefix, saved
):
    tenant = admin.create_tenant()
    url = f"/api/v1/tenants/{tenant['id']}/settings"
    body = {"destination": "xero", "sync": {"invoice_number_prefix": prefix}}

    response = admin.client.put(url, json=body, headers=admin.headers())

    if saved:
        assert response.status_code == 200, response.get_json()
        read = admin.client.get(url, headers=admin.headers()).get_json()
        assert read["sync"]["invoice_number_prefix"] == prefix
    else:
        assert response.status_code == 400
        assert response.get_json()["error"]["field"] == "sync.invoice_number_prefix"


def test_the_destination_cannot_change_through_settings(admin):
    tenant = admin.create_tenant(destination="xero")

    response = admin.client.put(
        f"/api/v1/tenants/{tenant['id']}/settings",
        json={"destination": "qbo"},
        headers=admin.headers(),
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "destination"


def test_processing_is_refused_until_settings_are_saved_and_both_sides_connected(admin):
    tenant = admin.create_tenant()
    url = f"/api/v1/tenants/{tenant['id']}/processing"

    before = admin.client.put(url, json={"enabled": True}, headers=admin.headers())
    admin.client.put(
        f"/api/v1/tenants/{tenant['id']}/settings",
        json={"destination": "xero"},
        headers=admin.headers(),
    )
    after_saving = admin.client.put(url, json={"enabled": True}, headers=admin.headers())

    assert before.status_code == 409
    assert before.get_json()["error"]["missing"] == [
        "settings must be saved first",
        "keap must be connected",
        "xero must be connected",
    ]
    assert after_saving.status_code == 409
    assert after_saving.get_json()["error"]["missing"] == [
        "keap must be connected",
        "xero must be connected",
    ]


def test_switching_processing_on_in_the_settings_is_refused_too(admin):
    tenant = admin.create_tenant()

    response = admin.client.put(
        f"/api/v1/tenants/{tenant['id']}/settings",
        json={"destination": "xero", "sync": {"processing_enabled": True}},
        headers=admin.headers(),
    )

    assert response.status_code == 409
    assert admin.services.tenants.get(tenant["id"]).settings_saved is False


def test_a_callback_with_a_wrong_state_is_400_and_stores_nothing(admin):
    tenant = admin.create_tenant()
    connect = admin.client.get(
        f"/api/v1/tenants/{tenant['id']}/connect/xero", headers=admin.headers()
    )

    response = admin.client.get("/api/v1/oauth/xero/callback?code=abc&state=forged-state")

    assert connect.status_code == 302
    assert "state=" in connect.headers["Location"]
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "state"
    assert admin.services.redis.exists(connection_key("xero", tenant["id"])) == 0


def test_a_callback_without_state_is_400_naming_it(admin):
    response = admin.client.get("/api/v1/oauth/keap/callback?code=abc")

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "state"


def test_connecting_a_provider_the_tenant_does_not_use_is_400(admin):
    tenant = admin.create_tenant(destination="xero")

    response = admin.client.get(
        f"/api/v1/tenants/{tenant['id']}/connect/qbo", headers=admin.headers()
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "provider"


def test_sync_id_publishes_a_manual_invoice_notification(admin, admin_settings):
    tenant = admin.create_tenant()

    response = admin.client.post(
        f"/api/v1/tenants/{tenant['id']}/sync",
        json={"invoice_id": "1234"},
        headers=admin.headers(tenant["api_key"]),
    )

    assert response.status_code == 202
    [message] = read_topic(admin_settings, Topic.KEAP_NOTIFICATIONS, 1)
    assert message["event_id"] == response.get_json()["notification_id"]
    assert message["tenant_id"] == tenant["id"]
    assert message["payload"]["object_type"] == "invoice"
    assert message["payload"]["object_id"] == "1234"
    assert message["payload"]["source"] == "manual"


def test_sync_id_rejects_an_id_that_is_not_a_keap_id(admin):
    tenant = admin.create_tenant()

    response = admin.client.post(
        f"/api/v1/tenants/{tenant['id']}/sync", json={"invoice_id": "abc"}, headers=admin.headers()
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "invoice_id"


def test_a_backfill_is_queued_once_and_its_progress_is_visible(admin):
    tenant = admin.create_tenant()
    url = f"/api/v1/tenants/{tenant['id']}/backfill"
    start = {"start": {"kind": "invoice_id", "invoice_id": 500}}

    first = admin.client.post(url, json=start, headers=admin.headers())
    second = admin.client.post(url, json=start, headers=admin.headers())
    job = admin.services.backfill_jobs.claim_next("runner-1")
    admin.services.backfill_jobs.record_page(job.id, "cursor-1", 25, estimated_total=100)
    progress = admin.client.get(url, headers=admin.headers())

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.get_json()["id"] == first.get_json()["id"]
    assert progress.get_json()["status"] == "running"
    assert progress.get_json()["published"] == 25
    assert progress.get_json()["estimated_total"] == 100
    assert progress.get_json()["start"]["invoice_id"] == 500


def test_status_reports_connections_and_last_poll(admin):
    tenant = admin.create_tenant()
    admin.services.redis.set(f"invoicesync:{tenant['id']}:poll:last", "2026-01-01T12:00:00+00:00")

    response = admin.client.get(f"/api/v1/tenants/{tenant['id']}/status", headers=admin.headers())

    status = response.get_json()
    assert response.status_code == 200
    assert status["connections"] == {
        "keap": {"status": "not_connected"},
        "xero": {"status": "not_connected"},
    }
    assert status["last_poll"] == "2026-01-01T12:00:00+00:00"
    assert status["processing_enabled"] is False
    assert {provider: h["state"] for provider, h in status["connection_health"].items()} == {
        "keap": "not_connected",
        "xero": "not_connected",
    }


def test_switching_processing_on_sends_through_what_was_held_while_it_was_off(admin):
    tenant = admin.create_tenant()
    admin.client.put(
        f"/api/v1/tenants/{tenant['id']}/settings",
        json={"destination": "xero"},
        headers=admin.headers(),
    )
    for provider in ("keap", "xero"):  # what the OAuth callbacks store
        admin.services.tokens.save(
            ProviderConnection(
                provider=provider,
                tenant_id=tenant["id"],
                access_token="access",
                refresh_token="refresh",
                access_expires_at=datetime.now(UTC) + timedelta(minutes=30),
                refresh_expires_at=None,
                external_id=f"{provider}-org",
            )
        )
    notification = KeapNotification("order", "77", NotificationSource.HOOK, datetime.now(UTC))
    held = HeldNotifications(admin.services.redis)
    held.hold(
        envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant["id"], notification), notification
    )

    response = admin.client.put(
        f"/api/v1/tenants/{tenant['id']}/processing",
        json={"enabled": True},
        headers=admin.headers(),
    )

    assert response.status_code == 200
    released = [
        message
        for message in read_topic(admin.services.settings, Topic.KEAP_NOTIFICATIONS, 1)
        if message["tenant_id"] == tenant["id"]
    ]
    assert [m["payload"]["object_id"] for m in released] == ["77"]
    assert held.count(tenant["id"]) == 0


def test_settings_read_with_get_can_be_edited_and_put_back(admin):
    tenant = admin.create_tenant()
    url = f"/api/v1/tenants/{tenant['id']}/settings"
    document = admin.client.get(url, headers=admin.headers()).get_json()
    document["sync"]["due_date_days"] = 14

    saved = admin.client.put(url, json=document, headers=admin.headers())

    assert document["saved"] is False
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["saved"] is True
    assert saved.get_json()["sync"]["due_date_days"] == 14


def test_retry_failed_sends_every_object_whose_last_outcome_failed_through_again(
    admin, admin_settings
):
    tenant = admin.create_tenant()
    now = datetime.now(UTC)
    for number, (object_type, keap_id, action) in enumerate(
        [
            ("invoice", "501", SyncAction.FAILED),
            ("payment", "77", SyncAction.FAILED),
            ("order", "9", SyncAction.FAILED),
            ("invoice", "502", SyncAction.FAILED),
            ("invoice", "502", SyncAction.CREATED),  # fixed since: not retried
        ]
    ):
        outcome = SyncResult("xero", object_type, keap_id, action, now + timedelta(seconds=number))
        admin.services.activity.record(tenant["id"], f"entry-{number}", outcome)
    url = f"/api/v1/tenants/{tenant['id']}/retry-failed"

    first = admin.client.post(url, headers=admin.headers(tenant["api_key"]))
    second = admin.client.post(url, headers=admin.headers(tenant["api_key"]))

    assert (first.status_code, first.get_json()) == (202, {"requested": 3})
    assert second.get_json() == {"requested": 0}  # already driven again: its outcome decides
    sent = read_topic(admin_settings, Topic.KEAP_NOTIFICATIONS, 3, tenant_id=tenant["id"])
    assert sorted((m["payload"]["object_type"], m["payload"]["object_id"]) for m in sent) == [
        ("invoice", "501"),
        ("order", "9"),
        ("payment", "77"),
    ]
    assert {m["payload"]["source"] for m in sent} == {"manual"}
