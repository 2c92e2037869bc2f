"""The admin API's smaller defences: malformed cursors, tenant names, keys and hook tokens
that can be rotated and revoked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("cursor", ["nan:x", "NaN:x", "inf:x", "-inf:x", "1e999:x", "12.5:"])
def test_a_cursor_this_api_never_issued_is_a_400_naming_the_field(admin, cursor):
    tenant = admin.create_tenant()

    response = admin.client.get(
        f"/api/v1/tenants/{tenant['id']}/activity",
        query_string={"cursor": cursor},
        headers=admin.headers(),
    )

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("name", ["Acme\nBcc: victim@example.com", "Acme\r\nX", "Acme\x00", "\t"])
def test_a_tenant_name_with_a_line_break_or_control_character_is_refused(admin, name):
    response = admin.client.post(
        "/api/v1/tenants", json={"name": name, "destination": "xero"}, headers=admin.headers()
    )

    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["field"] == "name"
