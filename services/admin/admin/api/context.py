"""Per-request access to the admin services, the caller's key and validated input."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from marshmallow import Schema

from admin.access import AccessGuard, Refusal
from admin.admin_services import AdminServices
from invoicesync.errors import InvalidInput

EXTENSION = "invoicesync.admin"


class Unauthorised(Exception):
    """No key, or not a live one: 401."""


class Forbidden(Exception):
    """A live key that may not do this: 403."""


def services() -> AdminServices:
    return current_app.extensions[EXTENSION]


def authenticate() -> None:
    """Before each API request: who is calling (left unset when no valid key was shown)."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() == "bearer" and presented.strip():
        g.api_key = services().api_keys.authenticate(presented.strip())


def _api_refusal(refusal: Refusal) -> Exception:
    if refusal is Refusal.NO_KEY:
        return Unauthorised("a bearer API key is required")
    if refusal is Refusal.OTHER_TENANT:
        return Forbidden("this key belongs to another tenant")
    return Forbidden("an operator key is required")


_api_access = AccessGuard(caller=lambda: g.get("api_key"), refuse=_api_refusal)
# Every route taking a <tenant_id> wears one of these (tests/integration/admin/test_access.py).
tenant_access_required = _api_access.tenant_required
operator_required = _api_access.operator_required


def load_body(schema: Schema) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    return schema.load(body)


def load_query(schema: Schema) -> Any:
    return schema.load(request.args.to_dict())
