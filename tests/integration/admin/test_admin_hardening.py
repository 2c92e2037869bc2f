"""The admin API's smaller defences: malformed cursors, tenant names, keys and hook tokens
that can be rotated and revoked."""

from __future__ import annotations

import pytest

from ingest.hooks_app import create_app as create_hooks_app

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


def _handshake(hooks, hook_url: str) -> int:
    path = "/" + hook_url.split("/", 3)[3]
    return hooks.post(path, headers={"X-Hook-Secret": "s"}).status_code


def test_a_rotated_hook_token_stops_working_at_once_and_the_new_url_does(admin, admin_settings):
    tenant = admin.create_tenant()
    hooks = create_hooks_app(admin_settings).test_client()
    assert _handshake(hooks, tenant["hook_url"]) == 200

    rotated = admin.client.post(
        f"/api/v1/tenants/{tenant['id']}/hook-token/rotate",
        headers=admin.headers(tenant["api_key"]),
    )

    assert rotated.status_code == 200, rotated.get_json()
    new_url = rotated.get_json()["hook_url"]
    assert new_url != tenant["hook_url"]
    assert _handshake(hooks, tenant["hook_url"]) == 404
    assert _handshake(hooks, new_url) == 200
    shown = admin.client.get(f"/api/v1/tenants/{tenant['id']}", headers=admin.headers())
    assert shown.get_json()["hook_url"] == new_url


def test_an_api_key_can_be_rotated_and_revoked(admin):
    tenant = admin.create_tenant()
    url = f"/api/v1/tenants/{tenant['id']}"
    old_key = tenant["api_key"]
    listed = admin.client.get(f"{url}/api-keys", headers=admin.headers(old_key))
    assert listed.status_code == 200, listed.get_json()
    [old] = listed.get_json()["api_keys"]
    assert "api_key" not in old and old["key_id"] in old_key

    rotated = admin.client.post(
        f"{url}/api-keys/{old['key_id']}/rotate", headers=admin.headers(old_key)
    )
    assert rotated.status_code == 201, rotated.get_json()
    new_key = rotated.get_json()["api_key"]
    assert admin.client.get(url, headers=admin.headers(old_key)).status_code == 401
    assert admin.client.get(url, headers=admin.headers(new_key)).status_code == 200

    new_id = rotated.get_json()["key_id"]
    revoked = admin.client.delete(f"{url}/api-keys/{new_id}", headers=admin.headers())
    assert revoked.status_code == 204
    assert admin.client.get(url, headers=admin.headers(new_key)).status_code == 401


def test_a_tenant_key_cannot_touch_another_tenants_keys(admin):
    mine = admin.create_tenant("Mine")
    theirs = admin.create_tenant("Theirs")
    their_id = theirs["api_key"].split("_")[1]

    by_path = admin.client.delete(
        f"/api/v1/tenants/{theirs['id']}/api-keys/{their_id}",
        headers=admin.headers(mine["api_key"]),
    )
    by_id = admin.client.delete(
        f"/api/v1/tenants/{mine['id']}/api-keys/{their_id}", headers=admin.headers(mine["api_key"])
    )

    assert by_path.status_code == 403
    assert by_id.status_code == 404
    theirs_url = f"/api/v1/tenants/{theirs['id']}"
    assert admin.client.get(theirs_url, headers=admin.headers(theirs["api_key"])).status_code == 200
