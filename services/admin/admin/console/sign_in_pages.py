"""Sign in with an API key, sign out, and the operator's list of businesses."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from admin import tenant_operations as operations
from admin.api.context import services
from admin.api.schemas import TenantCreateSchema
from admin.console.blueprint import console_routes
from admin.console.console_session import (
    operator_page_required,
    sign_in,
    sign_out,
    signed_in_key,
)
from admin.console.plain_words import field_errors
from admin.stores.api_keys import ApiKey, Role

# A path of this console: one slash, then only printable URL characters. Browsers drop tabs
# and newlines and read a backslash as a slash, so `/\t/evil.example` means `//evil.example`.
_SAME_SITE_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*")


def same_site_path(target: str) -> str | None:
    """`target` when it is a relative path on this site, else None."""
    if not _SAME_SITE_PATH.fullmatch(target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def home_for(key: ApiKey) -> str:
    if key.role is Role.OPERATOR:
        return url_for("console.tenant_list")
    return url_for("console.connections", tenant_id=key.tenant_id)


@console_routes.get("/")
def home():
    key = signed_in_key()
    return redirect(home_for(key) if key else url_for("console.sign_in_page"))


@console_routes.get("/signin")
def sign_in_page():
    target = same_site_path(request.args.get("next", "")) or ""
    return render_template("console/sign_in.html", error=None, next=target)


@console_routes.post("/signin")
def sign_in_submit():
    key = sign_in(request.form.get("api_key", ""))
    target = same_site_path(request.form.get("next", "")) or ""
    if key is None:
        error = "That key was not recognised. Paste the whole key, starting with isk_."
        return render_template("console/sign_in.html", error=error, next=target), 401
    return redirect(target or home_for(key))


@console_routes.post("/signout")
def sign_out_submit():
    sign_out()
    return redirect(url_for("console.sign_in_page"))


@console_routes.get("/tenants")
@operator_page_required
def tenant_list():
    return _render_tenant_list({}, None)


@console_routes.post("/tenants")
@operator_page_required
def tenant_create():
    document = {
        "name": request.form.get("name", ""),
        "destination": request.form.get("destination"),
    }
    try:
        loaded = TenantCreateSchema().load(document)
    except ValidationError as exc:
        return _render_tenant_list(field_errors(exc, {"name": "Name"}), None), 400
    tenant, key = operations.create_tenant(services(), loaded["name"], loaded["destination"])
    return _render_tenant_list({}, (tenant, key.secret)), 201


def _render_tenant_list(errors: dict[str, str], created: tuple | None):
    store = services().tenants
    tenants = [tenant for tenant in map(store.get, store.ids()) if tenant is not None]
    tenants.sort(key=lambda tenant: tenant.name.lower())
    return render_template(
        "console/tenants.html", tenants=tenants, errors=errors, created=created, page="tenants"
    )
