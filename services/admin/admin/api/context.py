"""Per-request access to the admin services, the caller's key and validated input."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from marshmallow import Schema

from admin.admin_services import AdminServices
from admin.stores.api_keys import ApiKey, Role
from invoicesync.errors import InvalidInput

EXTENSION = "invoicesync.admin"


class Unauthorised(Exception):
    """No key, or not a live one: 401."""


class Forbidden(Exception):
    """A live key that may not do this: 403."""


def services() -> AdminServices:
    return current_app.extensions[EXTENSION]


def caller() -> ApiKey:
    key = g.get("api_key")
    if key is None:
        raise Unauthorised("a bearer API key is required")
    return key


def authenticate() -> None:
    """Before each API request: who is calling (left unset when no valid key was shown)."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() == "bearer" and presented.strip():
        g.api_key = services().api_keys.authenticate(presented.strip())


def require_operator() -> ApiKey:
    key = caller()
    if key.role is not Role.OPERATOR:
        raise Forbidden("an operator key is required")
    return key


def require_tenant_access(tenant_id: str) -> ApiKey:
    key = caller()
    if not key.may_access(tenant_id):
        raise Forbidden("this key belongs to another tenant")
    return key


def load_body(schema: Schema) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    return schema.load(body)


def load_query(schema: Schema) -> Any:
    return schema.load(request.args.to_dict())
