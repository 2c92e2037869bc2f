"""The console's guards and words: CSRF, tenant isolation, and API errors said plainly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from admin.stores.api_keys import Role
from invoicesync.events import SyncAction, SyncResult
from tests.integration.admin.test_replay_routes import publish_dead_letters

pytestmark = pytest.mark.infra


def test_a_form_posted_without_its_csrf_token_is_refused(console):
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)

    response = console.client.post(f"/tenants/{tenant_id}/sync", data={"invoice_id": "12"})

    assert response.status_code == 400
    assert "Form refused" in response.get_data(as_text=True)


def test_a_form_posted_with_a_wrong_csrf_token_is_refused(console):
    tenant_id, key = console.new_tenant("Acme")
    console.client.get("/signin")

    response = console.client.post("/signin", data={"api_key": key, "csrf_token": "forged"})

    assert response.status_code == 400
    assert console.client.get(f"/tenants/{tenant_id}/settings").status_code == 302


def test_a_tenant_cannot_open_another_tenants_pages(console):
    _, key = console.new_tenant("Acme")
    other_id, _ = console.new_tenant("Globex")
    console.sign_in(key)

    for page in ("connections", "settings", "sync", "backfill", "activity", "health"):
        response = console.client.get(f"/tenants/{other_id}/{page}")
        assert response.status_code == 403, page
        assert "another business" in response.get_data(as_text=True)


def test_pages_ask_for_a_sign_in_first(console):
    tenant_id, _ = console.new_tenant("Acme")

    response = console.client.get(f"/tenants/{tenant_id}/settings")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin")


def test_an_unknown_key_is_refused_in_words(console):
    response = console.client.post(
        "/signin", data={"api_key": "isk_nope", "csrf_token": console.csrf_token("/signin")}
    )

    assert response.status_code == 401
    assert "was not recognised" in response.get_data(as_text=True)


def test_the_session_cookie_is_http_only_and_same_site(console):
    _, key = console.new_tenant("Acme")
    console.client.get("/signin")
    response = console.client.post(
        "/signin", data={"api_key": key, "csrf_token": console.csrf_token("/signin")}
    )

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert key not in cookie  # the key travels encrypted


def test_sync_id_shows_the_apis_validation_error_next_to_its_field(console):
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)
    path = f"/tenants/{tenant_id}/sync"

    response = console.client.post(
        path, data={"invoice_id": "INV-12", "csrf_token": console.csrf_token(path)}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-field="invoice_id"' in page
    assert "Keap invoice id must be a Keap invoice id: digits only" in page


def test_the_retry_failed_button_sends_the_failed_invoices_again_and_says_how_many(console):
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)
    failed = SyncResult("xero", "invoice", "4410", SyncAction.FAILED, datetime.now(UTC))
    console.services.activity.record(tenant_id, "e1", failed)
    path = f"/tenants/{tenant_id}/activity"
    before = console.client.get(path).get_data(as_text=True)

    response = console.client.post(
        f"{path}/retry-failed", data={"csrf_token": console.csrf_token(path)}
    )
    after = console.client.get(response.headers["Location"]).get_data(as_text=True)

    assert "1 invoice or payment failed last time" in before and "Retry failed" in before
    assert response.status_code == 302
    assert "1 failed item was sent through the sync again" in after
    assert "Retry failed" not in after  # nothing is waiting until a new outcome arrives


def test_settings_errors_name_the_field_in_plain_words(console):
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)
    path = f"/tenants/{tenant_id}/settings"
    token = console.csrf_token(path)

    response = console.client.post(
        path, data={"csrf_token": token, "sync.due_date_days": "thirty", "keap.currency": "USD"}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-field="sync.due_date_days"' in page
    assert "Days until an invoice is due must be a whole number." in page


def test_processing_cannot_be_switched_on_before_both_sides_are_connected(console):
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)
    path = f"/tenants/{tenant_id}/settings"
    form = {"csrf_token": console.csrf_token(path), "keap.currency": "USD"}

    page_before = console.client.get(path).get_data(as_text=True)
    refused = console.client.post(path, data=form | {"sync.processing_enabled": "true"})

    assert "Processing cannot be switched on yet: settings must be saved first" in page_before
    assert refused.status_code == 400
    assert "keap must be connected; xero must be connected" in refused.get_data(as_text=True)
    assert console.services.tenants.processing_enabled(tenant_id) is False


def test_an_operator_sees_every_business_and_a_tenant_does_not(console):
    console.new_tenant("Acme")
    _, tenant_key = console.new_tenant("Globex")
    operator = console.services.api_keys.issue(Role.OPERATOR, label="ops")

    console.sign_in(operator.secret)
    listing = console.client.get("/tenants").get_data(as_text=True)
    console.client.post("/signout", data={"csrf_token": console.csrf_token("/tenants")})
    console.sign_in(tenant_key)

    assert "Acme" in listing and "Globex" in listing
    assert console.client.get("/tenants").status_code == 403


def test_an_operator_replays_all_of_a_businesss_dead_letters_with_one_button(console):
    tenant_id, _ = console.new_tenant("Acme")
    other_id, _ = console.new_tenant("Globex")
    now = datetime.now(UTC)
    publish_dead_letters(
        console.services.settings,
        [
            (tenant_id, "invoicesync-transform", now, "1"),
            (tenant_id, "invoicesync-xero-writer", now, "2"),
            (other_id, "invoicesync-transform", now, "3"),
        ],
    )
    console.sign_in(console.services.api_keys.issue(Role.OPERATOR, label="ops").secret)
    path = f"/tenants/{tenant_id}/health"
    before = console.client.get(path).get_data(as_text=True)

    response = console.client.post(
        f"/tenants/{tenant_id}/dead-letters/replay-all",
        data={"csrf_token": console.csrf_token(path)},
    )
    after = console.client.get(response.headers["Location"]).get_data(as_text=True)

    assert "Replay all of this business" in before
    assert "2 dead letters were sent back for another try" in after
    assert "Replay all of this business" not in after  # each is replayed once
