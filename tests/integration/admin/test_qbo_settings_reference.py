"""Saving QBO settings checks them against the connected company: a US company collecting sales
tax for several agencies must have its tax code chosen, and it must be one of its own codes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import pytest
import requests

from admin.admin_services import AdminServices
from admin.app import create_app
from admin.stores.api_keys import Role
from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.stores.tokens import TokenStore
from tests.integration.qbo_writer.qbo_sandbox import qbo_sandbox

pytestmark = pytest.mark.infra


@pytest.fixture
def connected(settings):
    """An admin app and a QBO tenant connected to a US company with three sales tax agencies."""
    with qbo_sandbox(replace(settings, token_encryption_key=generate_key())) as sandbox:
        services = AdminServices.from_settings(sandbox.settings, publish_timeout_seconds=5)
        app = create_app(sandbox.settings, services)
        key = services.api_keys.issue(Role.OPERATOR, label="test operator").secret
        headers = {"Authorization": f"Bearer {key}"}
        client = app.test_client()
        created = client.post(
            "/api/v1/tenants", json={"name": "Multi-state", "destination": "qbo"}, headers=headers
        )
        tenant_id = created.get_json()["id"]
        realm = sandbox.connect(tenant_id)
        answer = requests.put(
            f"{sandbox.base_url}/_sandbox/qbo/companies/{realm}",
            json={"sales_tax_jurisdictions": [{"name": "Texas", "percent": "6.25"}]},
            timeout=5,
        )
        answer.raise_for_status()
        texas = answer.json()["tax_codes"][0]["tax_code_id"]
        yield Connected(
            client, headers, f"/api/v1/tenants/{tenant_id}/settings", texas, tenant_id, sandbox
        )
        services.close()


class Connected(NamedTuple):
    client: Any
    headers: dict[str, str]
    url: str
    texas: str
    tenant_id: str
    sandbox: Any


def test_a_us_company_with_several_tax_agencies_needs_the_tax_code_chosen(connected):
    client, headers, url = connected.client, connected.headers, connected.url

    response = client.put(url, json={"destination": "qbo"}, headers=headers)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "qbo.tax_code_id"
    assert "several" in error["message"]


def test_a_tax_code_the_company_does_not_have_is_refused(connected):
    client, headers, url = connected.client, connected.headers, connected.url

    response = client.put(
        url, json={"destination": "qbo", "qbo": {"tax_code_id": "999"}}, headers=headers
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "qbo.tax_code_id"


def test_the_companys_own_tax_code_is_accepted(connected):
    client, headers, url, texas = (
        connected.client,
        connected.headers,
        connected.url,
        connected.texas,
    )

    response = client.put(
        url, json={"destination": "qbo", "qbo": {"tax_code_id": texas}}, headers=headers
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["qbo"]["tax_code_id"] == texas


def test_a_tax_code_made_since_the_writer_read_the_list_is_known_to_the_writer_once_chosen(
    connected,
):
    sandbox = connected.sandbox
    writer = qbo_client_from_settings(sandbox.settings, sandbox.redis())
    assert connected.texas in writer.tax_codes(connected.tenant_id)  # kept for the hour
    realm = TokenStore(sandbox.redis(), TokenCipher(sandbox.settings.token_encryption_key)).load(
        "qbo", connected.tenant_id
    )
    answer = requests.put(
        f"{sandbox.base_url}/_sandbox/qbo/companies/{realm.external_id}",
        json={"sales_tax_jurisdictions": [{"name": "Ohio", "percent": "5.75"}]},
        timeout=5,
    )
    answer.raise_for_status()
    ohio = next(
        code["tax_code_id"]
        for code in answer.json()["tax_codes"]
        if code["tax_code_id"] != connected.texas
    )

    response = connected.client.put(
        connected.url,
        json={"destination": "qbo", "qbo": {"tax_code_id": ohio}},
        headers=connected.headers,
    )

    assert response.status_code == 200, response.get_json()
    assert ohio in writer.tax_codes(connected.tenant_id)
