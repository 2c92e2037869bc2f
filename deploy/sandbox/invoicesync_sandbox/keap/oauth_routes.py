"""Keap's OAuth2 endpoints: the (auto-consenting) authorize page and the token endpoint."""

import base64
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from invoicesync_sandbox.core.tokens import InvalidGrant
from invoicesync_sandbox.keap.gateway import keap_state
from invoicesync_sandbox.keap.state import DEFAULT_APP_ID, subject_for, token_response

oauth = Blueprint("keap_oauth", __name__)


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return response


@oauth.get("/app/oauth/authorize")
def authorize() -> Response:
    """Consent is granted at once, for the app named by `app_id` (default `ab123`)."""
    state = keap_state()
    client_id = request.args.get("client_id", "")
    redirect_uri = request.args.get("redirect_uri", "")
    if not state.tokens.redirect_allowed(client_id, redirect_uri):
        return _oauth_error("invalid_request", "Invalid client_id or redirect_uri")
    if request.args.get("response_type") != "code":
        return _oauth_error("unsupported_response_type", "response_type must be code")
    app_id = request.args.get("app_id", DEFAULT_APP_ID)
    code = state.tokens.create_code(client_id, redirect_uri, ("full",), subject_for(app_id))
    params = {"code": code, "scope": f"full|{app_id}.infusionsoft.com"}
    if "state" in request.args:
        params["state"] = request.args["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(f"{redirect_uri}{separator}{urlencode(params)}", code=302)


def _basic_credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return client_id, secret


def _sends_two_client_auth_methods() -> bool:
    # RFC 6749 §2.3.1: "The client MUST NOT use more than one authentication method in each
    # request." Basic credentials plus a client_secret in the body are two methods.
    return _basic_credentials() is not None and "client_secret" in request.form


@oauth.post("/token")
def token() -> Response:
    state = keap_state()
    form = request.form
    grant_type = form.get("grant_type")
    if _sends_two_client_auth_methods():
        return _oauth_error(
            "invalid_request", "Client credentials were sent both in the header and the body"
        )
    if grant_type == "authorization_code":
        # Keap's "Getting Started With OAuth2" sends the code exchange's client_id and
        # client_secret in the form body (reference/keap.md §1).
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not state.tokens.check_client(client_id, secret):
            return _oauth_error("invalid_client", "Invalid client credentials", 401)
        try:
            pair = state.tokens.exchange_code(
                form.get("code", ""), client_id, form.get("redirect_uri", "")
            )
        except InvalidGrant:
            return _oauth_error("invalid_grant", "Invalid Authorization Code")
    elif grant_type == "refresh_token":
        # Keap documents the refresh with `Authorization: Basic` (PHP SDK refreshAccessToken,
        # reference/keap.md §1); the body is accepted too, as RFC 6749 §2.3.1 allows.
        credentials = _basic_credentials() or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        if not state.tokens.check_client(*credentials):
            return _oauth_error("invalid_client", "Invalid client credentials", 401)
        try:
            pair = state.tokens.refresh(form.get("refresh_token", ""), credentials[0])
        except InvalidGrant:
            # Keap answers a reused, expired or unknown refresh token this way (see reference §1).
            return _oauth_error("invalid_request", "Invalid Refresh Token")
    else:
        return _oauth_error("unsupported_grant_type", f"Unsupported grant_type: {grant_type}")
    app_id = state.tokens.check_access(pair.access_token).subject["app_id"]
    return jsonify(token_response(pair, app_id))
