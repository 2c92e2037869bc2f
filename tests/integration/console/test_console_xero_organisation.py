"""The console's Xero connect when one consent connected several organisations: a choice."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from admin.admin_services import AdminServices
from admin.app import create_app
from invoicesync.crypto import generate_key
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from tests.integration.console.conftest import Console
from tests.integration.stores.local_servers import pointed_at_xero, serving


@pytest.fixture
def xero_console(settings):
    with serving(create_xero_app()) as xero:
        console_settings = pointed_at_xero(
            settings,
            xero,
            token_encryption_key=generate_key(),
            public_base_url="http://localhost:8080",
        )
        services = AdminServices.from_settings(console_settings, publish_timeout_seconds=5)
        yield Console(create_app(console_settings, services).test_client(), services), xero
        services.close()


def consent_through_the_console(console: Console, tenant_id: str):
    path = f"/tenants/{tenant_id}/connections"
    start = console.client.post(
        f"/tenants/{tenant_id}/connect/xero", data={"csrf_token": console.csrf_token(path)}
    )
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])
    return console.client.get(f"{callback.path}?{callback.query}")


def test_the_console_asks_which_organisation_when_a_consent_connected_several(xero_console):
    console, xero = xero_console
    requests.put(
        f"{xero}/_sandbox/xero/consent", json={"organisations": ["Org A", "Org B"]}, timeout=5
    ).raise_for_status()
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)

    back = consent_through_the_console(console, tenant_id)
    choose_path = urlsplit(back.headers["Location"]).path
    page = console.client.get(choose_path).get_data(as_text=True)
    options = dict(
        (name, value)
        for value, name in re.findall(r'value="([0-9a-f-]{36})"[^>]*>\s*([^<]+?)\s*<', page)
    )
    chosen = console.client.post(
        choose_path,
        data={"organisation_id": options["Org B"], "csrf_token": console.csrf_token(choose_path)},
    )
    connections = console.client.get(chosen.headers["Location"]).get_data(as_text=True)

    assert back.status_code == 302 and choose_path.endswith("/connections/xero/organisation")
    assert set(options) == {"Org A", "Org B"}
    assert console.services.tokens.load("xero", tenant_id).external_name == "Org B"
    assert "Xero is connected." in connections and "Org B" in connections


def test_the_console_names_the_business_before_connecting_and_connects_once_confirmed(
    xero_console,
):
    console, _ = xero_console
    tenant_id, key = console.new_tenant("Acme Books")
    console.sign_in(key)

    back = consent_through_the_console(console, tenant_id)
    confirm_path = urlsplit(back.headers["Location"]).path
    page = console.client.get(confirm_path).get_data(as_text=True)
    unconfirmed = console.services.tokens.load("xero", tenant_id)
    confirmed = console.client.post(
        confirm_path, data={"csrf_token": console.csrf_token(confirm_path)}
    )

    assert confirm_path == f"/tenants/{tenant_id}/connections/xero/organisation"
    assert "Connect Xero to Acme Books?" in page
    assert unconfirmed is None
    assert confirmed.status_code == 302
    assert console.services.tokens.load("xero", tenant_id) is not None


def test_a_consent_link_opened_in_another_businesss_console_connects_nothing(xero_console):
    console, _ = xero_console
    attacker_id, attacker_key = console.new_tenant("Attacker")
    _, victim_key = console.new_tenant("Victim")
    console.sign_in(attacker_key)
    path = f"/tenants/{attacker_id}/connections"
    start = console.client.post(
        f"/tenants/{attacker_id}/connect/xero", data={"csrf_token": console.csrf_token(path)}
    )
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])

    victim = Console(console.client.application.test_client(), console.services)
    victim.sign_in(victim_key)
    answer = victim.client.get(f"{callback.path}?{callback.query}")

    assert answer.status_code == 302
    assert "/connections/" not in answer.headers["Location"]
    assert console.services.tokens.load("xero", attacker_id) is None
    assert console.services.pending_connections.load(attacker_id, "xero") is None


def test_the_console_explains_an_organisation_another_business_already_has(xero_console):
    console, _ = xero_console
    first_id, first_key = console.new_tenant("First")
    second_id, second_key = console.new_tenant("Second")
    console.sign_in(first_key)
    confirm_page = consent_through_the_console(console, first_id).headers["Location"]
    console.client.post(confirm_page, data={"csrf_token": console.csrf_token(confirm_page)})
    console.client.post(
        "/signout", data={"csrf_token": console.csrf_token(f"/tenants/{first_id}/connections")}
    )
    console.sign_in(second_key)

    back = consent_through_the_console(console, second_id)
    page = console.client.get(back.headers["Location"]).get_data(as_text=True)

    assert console.services.tokens.load("xero", second_id) is None
    assert "already connected to another business" in page
