"""The console's defences: sign-in redirects stay on this site, sign-out ends the session
everywhere, the pages may not be framed, and the session secret is never derivable."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

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
