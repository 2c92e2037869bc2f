"""Connecting a provider is bound to whoever started it and confirmed before anything is saved;
a QuickBooks company is verified with the new token and belongs to one tenant only."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from admin.admin_services import AdminServices
from admin.app import create_app
from admin.stores.api_keys import Role
from invoicesync.stores.connection_owners import ConnectionOwners
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from tests.integration.qbo_writer.qbo_sandbox import qbo_sandbox
from tests.integration.stores.local_servers import pointed_at_xero, serving

pytestmark = pytest.mark.infra


@contextmanager
def _admin(settings):
    services = AdminServices.from_settings(settings, publish_timeout_seconds=5)
    try:
        app = create_app(settings, services)
        key = services.api_keys.issue(Role.OPERATOR).secret
        yield app, services, {"Authorization": f"Bearer {key}"}
    finally:
        services.close()


@pytest.fixture
def xero_admin(admin_settings):
    with serving(create_xero_app()) as xero:
        settings = pointed_at_xero(admin_settings, xero, public_base_url="http://localhost:8080")
        with _admin(settings) as running:
            yield running


@pytest.fixture
def qbo_admin(admin_settings):
    with qbo_sandbox(admin_settings) as sandbox:
        settings = replace(
            sandbox.settings,
            qbo_authorize_url=f"{sandbox.base_url}/connect/oauth2",
            public_base_url="http://localhost:8080",
        )
        with _admin(settings) as running:
            yield running


def _tenant(client, headers, name: str, destination: str) -> str:
    created = client.post(
        "/api/v1/tenants", json={"name": name, "destination": destination}, headers=headers
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def _consent(client, headers, tenant_id: str, provider: str, **authorize_extra) -> str:
    """Start connecting with `client`; the provider's redirect back to our callback."""
    start = client.get(f"/api/v1/tenants/{tenant_id}/connect/{provider}", headers=headers)
    assert start.status_code == 302, start.get_json()
    authorize = start.headers["Location"]
    if authorize_extra:
        authorize = f"{authorize}&{urlencode(authorize_extra)}"
    consent = requests.get(authorize, allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])
    return f"{callback.path}?{callback.query}"


def test_a_consent_link_sent_to_someone_else_connects_nothing(xero_admin):
    app, services, headers = xero_admin
    attacker = app.test_client()
    tenant_id = _tenant(attacker, headers, "Attacker", "xero")
    callback = _consent(attacker, headers, tenant_id, "xero")

    victims_browser = app.test_client()
    answer = victims_browser.get(callback)

    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"]["field"] == "state"
    assert services.tokens.load("xero", tenant_id) is None
    assert services.pending_connections.load(tenant_id, "xero") is None


def test_the_callback_names_the_tenant_and_saves_only_once_confirmed(xero_admin):
    app, services, headers = xero_admin
    client = app.test_client()
    tenant_id = _tenant(client, headers, "Acme Books", "xero")

    answer = client.get(_consent(client, headers, tenant_id, "xero"))

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "confirm"
    assert (body["tenant_id"], body["tenant_name"]) == (tenant_id, "Acme Books")
    assert len(body["organisations"]) == 1
    assert services.tokens.load("xero", tenant_id) is None

    confirmed = client.post(body["confirm"], json={}, headers=headers)

    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["status"] == "connected"
    assert (
        services.tokens.load("xero", tenant_id).external_id
        == (body["organisations"][0]["organisation_id"])
    )


def test_only_the_key_that_started_connecting_can_confirm(xero_admin):
    app, services, headers = xero_admin
    client = app.test_client()
    tenant_id = _tenant(client, headers, "Acme", "xero")
    body = client.get(_consent(client, headers, tenant_id, "xero")).get_json()
    tenant_key = services.api_keys.issue(Role.TENANT, tenant_id).secret

    by_another_key = client.post(
        body["confirm"], json={}, headers={"Authorization": f"Bearer {tenant_key}"}
    )

    assert by_another_key.status_code == 403, by_another_key.get_json()
    assert services.tokens.load("xero", tenant_id) is None


def _with_realm(callback: str, realm_id: str) -> str:
    path, _, query = callback.partition("?")
    params = dict(parse_qsl(query)) | {"realmId": realm_id}
    return f"{path}?{urlencode(params)}"


def test_a_realm_id_changed_on_the_way_back_is_refused(qbo_admin):
    app, services, headers = qbo_admin
    client = app.test_client()
    other_realm = requests.post(
        f"{services.settings.qbo_api_base}/_sandbox/token",
        json={"company_name": "Someone Else's Books"},
        timeout=5,
    ).json()["realmId"]
    tenant_id = _tenant(client, headers, "Acme", "qbo")
    callback = _consent(client, headers, tenant_id, "qbo")

    answer = client.get(_with_realm(callback, other_realm))

    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"]["field"] == "realmId"
    assert services.pending_connections.load(tenant_id, "qbo") is None
    assert services.tokens.load("qbo", tenant_id) is None


def _connect_qbo(client, headers, tenant_id: str, realm_id: str):
    answer = client.get(_consent(client, headers, tenant_id, "qbo", realmId=realm_id))
    if answer.status_code != 200:
        return answer
    return client.post(answer.get_json()["confirm"], json={}, headers=headers)


def test_a_quickbooks_company_connected_to_one_tenant_is_refused_to_another(qbo_admin):
    app, services, headers = qbo_admin
    client = app.test_client()
    first = _tenant(client, headers, "First", "qbo")
    second = _tenant(client, headers, "Second", "qbo")
    realm_id = "9130355000000001"

    connected = _connect_qbo(client, headers, first, realm_id)
    refused = _connect_qbo(client, headers, second, realm_id)

    assert connected.status_code == 200, connected.get_json()
    assert connected.get_json()["external_id"] == realm_id
    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["field"] == "realmId"
    assert "already connected to another tenant" in error["message"]
    assert services.tokens.load("qbo", second) is None
    assert ConnectionOwners(services.redis).owner("qbo", realm_id) == first
