"""Xero identity: consent (auto-granted), the token endpoint and the tenant connections."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from flask import Blueprint, Response, g, jsonify, redirect, request

from invoicesync_sandbox.core.app import current_state
from invoicesync_sandbox.core.tokens import InvalidGrant, TokenExpired, TokenInvalid
from invoicesync_sandbox.xero import errors
from invoicesync_sandbox.xero.scopes import refused_scopes
from invoicesync_sandbox.xero.state import XeroState, token_response

identity = Blueprint("xero_identity", __name__)


def _state() -> XeroState:
    return current_state()  # type: ignore[return-value]


@identity.get("/identity/connect/authorize")
def authorize() -> Response:
    state = _state()
    client_id = request.args.get("client_id", "")
    redirect_uri = request.args.get("redirect_uri", "")
    if request.args.get("response_type") != "code" or not state.tokens.redirect_allowed(
        client_id, redirect_uri
    ):
        return errors.token_error("unauthorized_client")
    scopes = request.args.get("scope", "").split()
    if refused_scopes(scopes, state.tokens.client_created_on(client_id)):
        # The consent fails back to the app as an OAuth2 error redirect (RFC 6749 §4.1.2.1);
        # shared/reference/xero.md §1 lists `invalid_scope` among Xero's identity errors.
        return _redirect_back(redirect_uri, {"error": "invalid_scope"})
    subject = state.authorization_subject(client_id, request.args.get("login_hint", "demo-user"))
    code = state.tokens.create_code(client_id, redirect_uri, scopes, subject)
    return _redirect_back(redirect_uri, {"code": code, "scope": " ".join(scopes)})


def _redirect_back(redirect_uri: str, query: dict[str, str]) -> Response:
    if "state" in request.args:
        query["state"] = request.args["state"]
    return redirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}")


def _client_credentials() -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


@identity.post("/connect/token")
def token() -> Response:
    state = _state()
    client_id, secret = _client_credentials()
    if not state.tokens.check_client(client_id, secret):
        return errors.token_error("invalid_client")
    grant_type = request.form.get("grant_type")
    try:
        if grant_type == "authorization_code":
            pair = state.tokens.exchange_code(
                request.form.get("code", ""), client_id, request.form.get("redirect_uri", "")
            )
        elif grant_type == "refresh_token":
            pair = state.tokens.refresh(request.form.get("refresh_token", ""), client_id)
        else:
            return errors.token_error("unsupported_grant_type")
    except InvalidGrant:
        return errors.token_error("invalid_grant")
    return jsonify(token_response(pair))


@identity.post("/connect/revocation")
def revoke() -> Response:
    state = _state()
    state.tokens.revoke(request.form.get("token", ""))
    return Response(status=200)


def _bearer_grant():
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None, errors.unauthorized("AuthenticationUnsuccessful")
    try:
        return _state().tokens.check_access(header[7:].strip()), None
    except TokenExpired:
        when = g.get("now") or _state().clock.now()
        return None, errors.unauthorized(f"TokenExpired: token expired at {when:%m/%d/%Y %H:%M:%S}")
    except TokenInvalid:
        return None, errors.unauthorized("AuthenticationUnsuccessful")


@identity.get("/connections")
@identity.get("/Connections")
def connections() -> Response:
    grant, failure = _bearer_grant()
    if failure:
        return failure
    store = _state().store
    wanted_event = request.args.get("authEventId")
    rows = [
        c.to_wire(store.books[c.tenant_id].name)
        for c in store.connections_of(grant.client_id, grant.subject.get("user_id", ""))
        if wanted_event is None or c.auth_event_id == wanted_event
    ]
    return jsonify(rows)


@identity.delete("/connections/<connection_id>")
@identity.delete("/Connections/<connection_id>")
def disconnect(connection_id: str) -> Response:
    grant, failure = _bearer_grant()
    if failure:
        return failure
    store = _state().store
    with store.lock:
        connection = store.connections.get(connection_id)
        if connection is None or connection.client_id != grant.client_id:
            return errors.not_found()
        del store.connections[connection_id]
    return Response(status=204)
