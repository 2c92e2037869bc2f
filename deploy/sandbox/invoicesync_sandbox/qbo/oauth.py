"""Intuit's OAuth2 endpoints: consent (auto-granted), token exchange and refresh, revoke."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from invoicesync_sandbox.core.app import current_state
from invoicesync_sandbox.core.tokens import InvalidGrant

from .state import ACCOUNTING_SCOPE, QboState, token_response_body

oauth = Blueprint("qbo_oauth", __name__)


def _state() -> QboState:
    return current_state()  # type: ignore[return-value]


def _oauth_error(error: str, status: int, description: str | None = None) -> Response:
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = jsonify(body)
    response.status_code = status
    return response


def _basic_client() -> str | None:
    """The client id from a valid `Authorization: Basic` header, else None."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id if _state().tokens.check_client(client_id, secret) else None


@oauth.get("/connect/oauth2")
def authorize() -> Response:
    state = _state()
    client_id = request.args.get("client_id", "")
    redirect_uri = request.args.get("redirect_uri", "")
    if not state.tokens.redirect_allowed(client_id, redirect_uri):
        return _oauth_error("invalid_request", 400, "Unknown client_id or redirect_uri")
    params = {"state": request.args.get("state", "")}
    scopes = request.args.get("scope", "").split()
    if request.args.get("response_type") != "code":
        params["error"] = "unsupported_response_type"
    elif ACCOUNTING_SCOPE not in scopes:
        params["error"] = "invalid_scope"
    else:
        # Consent is granted at once. `realmId` / `country` let a test pick the company.
        company = (
            state.company_for(
                request.args.get("realmId"),
                "Sandbox Company",
                request.args.get("country", "US"),
            )
            if request.args.get("realmId") or request.args.get("country")
            else state.default_company()
        )
        subject = {"realm_id": company.realm_id}
        params["code"] = state.tokens.create_code(client_id, redirect_uri, scopes, subject)
        params["realmId"] = company.realm_id
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(f"{redirect_uri}{separator}{urlencode(params)}", code=302)


@oauth.post("/oauth2/v1/tokens/bearer")
def token() -> Response:
    state = _state()
    client_id = _basic_client()
    if client_id is None:
        return _oauth_error("invalid_client", 401)
    grant_type = request.form.get("grant_type")
    try:
        if grant_type == "authorization_code":
            pair = state.tokens.exchange_code(
                request.form.get("code", ""), client_id, request.form.get("redirect_uri", "")
            )
        elif grant_type == "refresh_token":
            pair = state.tokens.refresh(request.form.get("refresh_token", ""), client_id)
        else:
            return _oauth_error("unsupported_grant_type", 400)
    except InvalidGrant:
        return _oauth_error("invalid_grant", 400)
    return jsonify(token_response_body(pair, state.clock.now()))


@oauth.post("/v2/oauth2/tokens/revoke")
def revoke() -> Response:
    if _basic_client() is None:
        return _oauth_error("invalid_client", 401)
    body = request.get_json(silent=True) or {}
    if not body.get("token"):
        return _oauth_error("invalid_request", 400, "token is required")
    _state().tokens.revoke(str(body["token"]))
    return Response(status=200)


@oauth.get("/.well-known/openid_configuration")
@oauth.get("/.well-known/openid_sandbox_configuration")
def discovery() -> Response:
    base = _state().public_url.rstrip("/")
    return jsonify(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
            "response_types_supported": ["code"],
            "scopes_supported": [ACCOUNTING_SCOPE, "openid", "email", "profile"],
        }
    )
