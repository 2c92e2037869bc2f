"""Every route of the admin app, read from its URL map, refuses callers it should refuse, so a
route added later cannot forget the access check: a tenant key never reaches another tenant's
API route or console page, and only an operator reaches the routes that take no tenant."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import Rule

from admin import tenant_operations as operations
from invoicesync.domain.canonical import Destination

# Open to anyone by design; every other route is refused without a key.
PUBLIC_ENDPOINTS = {
    "static",
    "healthz",
    "readyz",
    "metrics",
    "openapi.openapi_document",
    "connect.callback",  # the provider's redirect; the OAuth state authenticates it
    "console.static",
    "console.home",
    "console.sign_in_page",
    "console.sign_in_submit",
    "console.sign_out_submit",
}
ARGUMENT_VALUES = {"provider": "xero", "invoice_id": "123"}


def guarded_routes(app, *, console: bool) -> list[tuple[Rule, str]]:
    routes = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC_ENDPOINTS and rule.endpoint.startswith("console.") == console
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    assert routes
    return routes


def url_for_rule(app, rule: Rule, tenant_id: str) -> str:
    values = {name: ARGUMENT_VALUES.get(name, tenant_id) for name in rule.arguments}
    return app.url_map.bind("localhost").build(rule.endpoint, values)


@pytest.fixture
def two_tenants(admin):
    """(tenant A's key, tenant B's id): A's key must never open B's routes."""
    _, key_a = operations.create_tenant(admin.services, "Tenant A", Destination.XERO)
    tenant_b, _ = operations.create_tenant(admin.services, "Tenant B", Destination.QBO)
    return key_a.secret, tenant_b.id


def test_every_api_route_is_public_by_name_or_under_the_api_prefix(admin):
    app = admin.client.application
    for rule, _ in guarded_routes(app, console=False):
        assert rule.rule.startswith("/api/"), f"{rule.endpoint} is neither listed public nor API"


def test_every_api_route_refuses_a_missing_key_with_401(admin, two_tenants):
    app = admin.client.application
    _, tenant_b = two_tenants
    for rule, method in guarded_routes(app, console=False):
        response = admin.client.open(url_for_rule(app, rule, tenant_b), method=method, json={})
        assert response.status_code == 401, (method, rule.rule)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.get_json() == {
            "error": {"status": 401, "message": "a bearer API key is required"}
        }


def test_every_api_route_refuses_another_tenants_key_with_403(admin, two_tenants):
    app = admin.client.application
    key_a, tenant_b = two_tenants
    for rule, method in guarded_routes(app, console=False):
        response = admin.client.open(
            url_for_rule(app, rule, tenant_b), method=method, json={}, headers=admin.headers(key_a)
        )
        assert response.status_code == 403, (method, rule.rule)
        expected = (
            "this key belongs to another tenant"
            if "tenant_id" in rule.arguments
            else "an operator key is required"
        )
        assert response.get_json() == {"error": {"status": 403, "message": expected}}


def csrf_token_of_a_new_session(client) -> str:
    page = client.get("/signin").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_every_console_page_sends_a_visitor_without_a_session_to_sign_in(admin, two_tenants):
    app = admin.client.application
    _, tenant_b = two_tenants
    token = csrf_token_of_a_new_session(admin.client)
    for rule, method in guarded_routes(app, console=True):
        url = url_for_rule(app, rule, tenant_b)
        response = admin.client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 302, (method, rule.rule)
        assert response.headers["Location"].startswith("/signin"), (method, rule.rule)


def test_every_console_page_refuses_another_tenants_session_with_403(admin, two_tenants):
    app = admin.client.application
    key_a, tenant_b = two_tenants
    token = csrf_token_of_a_new_session(admin.client)
    signed_in = admin.client.post("/signin", data={"api_key": key_a, "csrf_token": token})
    assert signed_in.status_code == 302
    token = csrf_token_of_a_new_session(admin.client)  # signing in starts a new session
    for rule, method in guarded_routes(app, console=True):
        url = url_for_rule(app, rule, tenant_b)
        response = admin.client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, rule.rule)
