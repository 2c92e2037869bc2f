"""Saving QBO settings checks them against the connected company: a US company collecting sales
tax for several agencies must have its tax code chosen, and it must be one of its own codes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from admin.admin_services import AdminServices
from admin.app import create_app
from admin.stores.api_keys import Role
from invoicesync.crypto import generate_key
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
        yield client, headers, f"/api/v1/tenants/{tenant_id}/settings", texas
        services.close()


def test_a_us_company_with_several_tax_agencies_needs_the_tax_code_chosen(connected):
    client, headers, url, _ = connected

    response = client.put(url, json={"destination": "qbo"}, headers=headers)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "qbo.tax_code_id"
    assert "several" in error["message"]


def test_a_tax_code_the_company_does_not_have_is_refused(connected):
    client, headers, url, _ = connected

    response = client.put(
        url, json={"destination": "qbo", "qbo": {"tax_code_id": "999"}}, headers=headers
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "qbo.tax_code_id"


def test_the_companys_own_tax_code_is_accepted(connected):
    client, headers, url, texas = connected

    response = client.put(
        url, json={"destination": "qbo", "qbo": {"tax_code_id": texas}}, headers=headers
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["qbo"]["tax_code_id"] == texas
