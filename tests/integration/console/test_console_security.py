"""The console's defences: sign-in redirects stay on this site, sign-out ends the session
everywhere, the pages may not be framed, and the session secret is never derivable."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from admin.admin_services import AdminServices
from admin.app import create_app
from admin.console import blueprint
from invoicesync.crypto import generate_key
from invoicesync.settings import SettingsError

pytestmark = pytest.mark.infra

OFF_SITE_NEXT = [
    "/\t/evil.example",  # what `/signin?next=/%09/evil.example` decodes to
    "/\n/evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " /\t/evil.example",
]


def _sign_in_with_next(console, key: str, next_path: str):
    return console.client.post(
        "/signin",
        data={"api_key": key, "next": next_path, "csrf_token": console.csrf_token("/signin")},
    )


@pytest.mark.parametrize("next_path", OFF_SITE_NEXT)
def test_sign_in_never_redirects_off_site(console, next_path):
    tenant_id, key = console.new_tenant("Acme")

    response = _sign_in_with_next(console, key, next_path)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/tenants/{tenant_id}/connections"


def test_the_sign_in_page_keeps_the_next_path_through_the_query_string(console):
    tenant_id, key = console.new_tenant("Acme")
    page = console.client.get("/signin?next=/%09/evil.example").get_data(as_text=True)
    assert "evil.example" not in page

    response = _sign_in_with_next(console, key, f"/tenants/{tenant_id}/activity?q=12")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) == ("", "")
    assert (location.path, location.query) == (f"/tenants/{tenant_id}/activity", "q=12")


def test_a_copied_session_cookie_stops_working_after_sign_out(console):
    tenant_id, key = console.new_tenant("Acme")
    console.sign_in(key)
    page = f"/tenants/{tenant_id}/settings"
    copied = console.client.get_cookie("invoicesync_console").value
    assert console.client.get(page).status_code == 200

    console.client.post("/signout", data={"csrf_token": console.csrf_token(page)})
    elsewhere = console.client.application.test_client()
    elsewhere.set_cookie("invoicesync_console", copied)

    response = elsewhere.get(page)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin")


def test_console_pages_may_not_be_framed_and_load_only_this_sites_resources(console):
    tenant_id, key = console.new_tenant("Acme")
    for path in ("/signin", f"/tenants/{tenant_id}/connections"):
        if path != "/signin":
            console.sign_in(key)
        response = console.client.get(path)
        policy = response.headers.get("Content-Security-Policy", "")
        directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part}
        assert directives.get("frame-ancestors") == ["'none'"], path
        assert directives.get("default-src") == ["'self'"], path
        assert "'unsafe-inline'" not in policy
        assert response.headers.get("X-Frame-Options") == "DENY"
        assert response.headers.get("X-Content-Type-Options") == "nosniff"


def test_the_session_secret_is_never_derived_from_the_machine(settings):
    machine_only = hashlib.sha256(
        f"invoicesync-console|{socket.gethostname()}|".encode()
    ).hexdigest()
    secrets_seen = set()
    for token_key in (generate_key(), generate_key()):
        configured = replace(settings, token_encryption_key=token_key, console_secret_key="")
        services = AdminServices.from_settings(configured, publish_timeout_seconds=5)
        try:
            secrets_seen.add(create_app(configured, services).secret_key)
        finally:
            services.close()
    blueprint_file = Path(blueprint.__file__).resolve()
    derivable = hashlib.sha256(
        f"invoicesync-console|{socket.gethostname()}|{blueprint_file}".encode()
    ).hexdigest()

    assert len(secrets_seen) == 2
    assert derivable not in secrets_seen and machine_only not in secrets_seen
    no_keys = replace(settings, token_encryption_key="", console_secret_key="")
    with pytest.raises(SettingsError):
        create_app(no_keys, AdminServices.from_settings(no_keys, publish_timeout_seconds=5))
