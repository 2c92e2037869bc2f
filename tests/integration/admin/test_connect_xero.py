"""Connecting Xero through the sandbox: consent, callback, encrypted tokens, checked settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests

from admin.admin_services import AdminServices
from admin.app import create_app
from admin.stores.api_keys import Role
from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.events import SyncAction, SyncResult, Topic
from invoicesync.stores.tokens import connection_key
from invoicesync.writing.xero_documents import xero_tax_rates
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from tests.integration.stores.local_servers import pointed_at_xero, serving
from tests.integration.topic_reading import read_topic


@pytest.fixture
def xero_admin(admin_settings):
    with serving(create_xero_app()) as xero:
        settings = pointed_at_xero(admin_settings, xero, public_base_url="http://localhost:8080")
        services = AdminServices.from_settings(settings, publish_timeout_seconds=5)
        key = services.api_keys.issue(Role.OPERATOR).secret
        yield (
            create_app(settings, services).test_client(),
            services,
            {"Authorization": f"Bearer {key}"},
        )
        services.close()


def connect_xero(client, headers, name: str = "Acme") -> tuple[str, dict]:
    """Consent, callback and, when one organisation asks only for confirmation, confirm."""
    created = client.post(
        "/api/v1/tenants", json={"name": name, "destination": "xero"}, headers=headers
    ).get_json()
    start = client.get(f"/api/v1/tenants/{created['id']}/connect/xero", headers=headers)
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])
    answer = client.get(f"{callback.path}?{callback.query}")
    if answer.status_code == 200 and answer.get_json()["status"] == "confirm":
        answer = client.post(answer.get_json()["confirm"], json={}, headers=headers)
    return created["id"], answer


def test_the_callback_stores_the_tokens_encrypted_with_the_xero_tenant_id(xero_admin):
    client, services, headers = xero_admin

    tenant_id, answer = connect_xero(client, headers)

    assert answer.status_code == 200, answer.get_json()
    connection = services.tokens.load("xero", tenant_id)
    assert connection is not None and connection.status == "connected"
    assert connection.external_id == answer.get_json()["external_id"] != ""
    stored = services.redis.hget(connection_key("xero", tenant_id), "secrets")
    assert connection.access_token.encode() not in stored


def test_a_used_state_cannot_connect_twice(xero_admin):
    client, services, headers = xero_admin
    created = client.post(
        "/api/v1/tenants", json={"name": "Acme", "destination": "xero"}, headers=headers
    ).get_json()
    start = client.get(f"/api/v1/tenants/{created['id']}/connect/xero", headers=headers)
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])

    first = client.get(f"{callback.path}?{callback.query}")
    services.pending_connections.discard(created["id"], "xero")
    replayed = client.get(f"{callback.path}?{callback.query}")

    assert first.status_code == 200
    assert replayed.status_code == 400
    assert services.tokens.load("xero", created["id"]) is None


def test_settings_are_checked_against_the_organisations_own_accounts_and_tax_rates(xero_admin):
    client, _, headers = xero_admin
    tenant_id, _ = connect_xero(client, headers)
    url = f"/api/v1/tenants/{tenant_id}/settings"

    good = client.put(
        url,
        json={"destination": "xero", "xero": {"zero_tax_type": "EXEMPTOUTPUT"}},
        headers=headers,
    )
    unknown_account = client.put(
        url, json={"destination": "xero", "xero": {"shipping_account_code": "999"}}, headers=headers
    )
    unknown_tax = client.put(
        url, json={"destination": "xero", "xero": {"taxable_tax_type": "GST"}}, headers=headers
    )

    assert good.status_code == 200, good.get_json()
    assert unknown_account.status_code == 400
    assert unknown_account.get_json()["error"]["field"] == "xero.shipping_account_code"
    assert unknown_tax.status_code == 400
    assert unknown_tax.get_json()["error"]["field"] == "xero.taxable_tax_type"


def test_the_lists_read_to_check_settings_spare_the_writer_its_own_read(xero_admin):
    client, services, headers = xero_admin
    tenant_id, _ = connect_xero(client, headers)
    saved = client.put(
        f"/api/v1/tenants/{tenant_id}/settings",
        json={"destination": "xero", "xero": {"zero_tax_type": "EXEMPTOUTPUT"}},
        headers=headers,
    )
    assert saved.status_code == 200, saved.get_json()
    reads_before = tax_rate_reads(services)

    rates = xero_client_from_settings(services.settings, services.redis).tax_rates(tenant_id)

    assert tax_rate_reads(services) == reads_before > 0
    assert {"OUTPUT", "EXEMPTOUTPUT"} <= {rate["TaxType"] for rate in rates}
    assert all(isinstance(rate["EffectiveRate"], Decimal) for rate in rates)


def test_a_rate_added_in_xero_and_chosen_in_settings_reaches_the_writers_kept_list(xero_admin):
    client, services, headers = xero_admin
    tenant_id, answer = connect_xero(client, headers)
    writer = xero_client_from_settings(services.settings, services.redis)
    kept_before = {rate["TaxType"] for rate in writer.tax_rates(tenant_id)}
    added = add_tax_rate(services, answer.get_json()["external_id"], "Resort Tax", 12.5)
    assert added not in kept_before

    saved = client.put(
        f"/api/v1/tenants/{tenant_id}/settings",
        json={"destination": "xero", "xero": {"taxable_tax_type": added}},
        headers=headers,
    )

    assert saved.status_code == 200, saved.get_json()
    assert xero_tax_rates(writer.tax_rates(tenant_id)).get(added) == Decimal("12.5")


def add_tax_rate(services, organisation_id: str, name: str, rate: float) -> str:
    """The bookkeeper adds a rate in Xero; its TaxType."""
    base = xero_base(services)
    issued = requests.post(
        f"{base}/_sandbox/token", json={"tenant_id": organisation_id}, timeout=5
    ).json()
    reply = requests.put(
        f"{base}/api.xro/2.0/TaxRates",
        json={"TaxRates": [{"Name": name, "TaxComponents": [{"Name": name, "Rate": rate}]}]},
        headers={
            "Authorization": f"Bearer {issued['access_token']}",
            "xero-tenant-id": organisation_id,
            "Accept": "application/json",
        },
        timeout=5,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["TaxRates"][0]["TaxType"]


def tax_rate_reads(services) -> int:
    counters = requests.get(f"{xero_base(services)}/_sandbox/counters", timeout=5).json()
    return counters.get("GET /api.xro/2.0/TaxRates", 0)


def xero_base(services) -> str:
    return services.settings.xero_api_base


def plan_consent(services, *organisations: str) -> None:
    requests.put(
        f"{xero_base(services)}/_sandbox/xero/consent",
        json={"organisations": list(organisations)},
        timeout=5,
    ).raise_for_status()


def test_the_callback_binds_the_organisation_this_consent_connected_not_an_older_one(xero_admin):
    client, services, headers = xero_admin
    requests.post(
        f"{xero_base(services)}/_sandbox/token", json={"tenant_name": "Older Org"}, timeout=5
    ).raise_for_status()
    plan_consent(services, "Fresh Org")

    tenant_id, answer = connect_xero(client, headers)

    assert answer.status_code == 200, answer.get_json()
    assert services.tokens.load("xero", tenant_id).external_name == "Fresh Org"


def test_several_organisations_in_one_consent_wait_for_the_user_to_choose_one(xero_admin):
    client, services, headers = xero_admin
    plan_consent(services, "Org A", "Org B")

    tenant_id, answer = connect_xero(client, headers)

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "choose_organisation"
    assert services.tokens.load("xero", tenant_id) is None
    choices = {o["name"]: o["organisation_id"] for o in body["organisations"]}
    assert set(choices) == {"Org A", "Org B"}
    listed = client.get(f"/api/v1/tenants/{tenant_id}/connect/xero/organisation", headers=headers)
    assert {o["name"] for o in listed.get_json()["organisations"]} == {"Org A", "Org B"}

    chosen = client.post(
        f"/api/v1/tenants/{tenant_id}/connect/xero/organisation",
        json={"organisation_id": choices["Org B"]},
        headers=headers,
    )

    assert chosen.status_code == 200, chosen.get_json()
    connection = services.tokens.load("xero", tenant_id)
    assert (connection.external_id, connection.external_name) == (choices["Org B"], "Org B")
    again = client.get(f"/api/v1/tenants/{tenant_id}/connect/xero/organisation", headers=headers)
    assert again.status_code == 404


def test_an_organisation_bound_to_another_tenant_needs_an_operator_to_confirm(xero_admin):
    client, services, headers = xero_admin
    first_id, first = connect_xero(client, headers, "First")
    second_id, refused = connect_xero(client, headers, "Second")

    assert first.status_code == 200
    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["field"] == "organisation_id"
    assert error["organisation_id"] == first.get_json()["external_id"]
    assert first_id != second_id
    assert services.tokens.load("xero", second_id) is None

    tenant_key = services.api_keys.issue(Role.TENANT, second_id).secret
    url = f"/api/v1/tenants/{second_id}/connect/xero/organisation"
    organisation = {"organisation_id": first.get_json()["external_id"]}
    by_tenant = client.post(
        url,
        json=organisation | {"confirm": True},
        headers={"Authorization": f"Bearer {tenant_key}"},
    )
    unconfirmed = client.post(url, json=organisation, headers=headers)
    confirmed = client.post(url, json=organisation | {"confirm": True}, headers=headers)

    assert by_tenant.status_code == 403
    assert unconfirmed.status_code == 409
    assert confirmed.status_code == 200, confirmed.get_json()
    assert services.tokens.load("xero", second_id).external_id == organisation["organisation_id"]


def reconnect_xero(client, headers, tenant_id: str):
    start = client.get(f"/api/v1/tenants/{tenant_id}/connect/xero", headers=headers)
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])
    answer = client.get(f"{callback.path}?{callback.query}")
    if answer.status_code == 200 and answer.get_json()["status"] == "confirm":
        answer = client.post(answer.get_json()["confirm"], json={}, headers=headers)
    return answer


def test_reconnecting_a_lost_connection_drives_again_what_failed_while_it_was_lost(
    xero_admin,
):
    client, services, headers = xero_admin
    tenant_id, _ = connect_xero(client, headers)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    earlier = SyncResult("xero", "invoice", "601", SyncAction.FAILED, long_ago)
    services.activity.record(tenant_id, "before-the-loss", earlier)
    services.tokens.mark_disconnected("xero", tenant_id, "refresh token rejected")
    for number, keap_id in enumerate(["602", "603"]):
        failed = SyncResult("xero", "invoice", keap_id, SyncAction.FAILED, datetime.now(UTC))
        services.activity.record(tenant_id, f"gap-{number}", failed)

    answer = reconnect_xero(client, headers, tenant_id)
    again = reconnect_xero(client, headers, tenant_id)  # connected already: nothing to heal

    assert answer.status_code == again.status_code == 200, answer.get_json()
    assert services.tokens.load("xero", tenant_id).status == "connected"
    sent = read_topic(services.settings, Topic.KEAP_NOTIFICATIONS, 2, tenant_id=tenant_id)
    assert sorted(m["payload"]["object_id"] for m in sent) == ["602", "603"]
    assert {m["payload"]["source"] for m in sent} == {"manual"}
    assert [f.keap_id for f in services.activity.failing(tenant_id)] == ["601"]
