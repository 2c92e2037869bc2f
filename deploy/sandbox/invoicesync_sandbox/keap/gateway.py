"""What Keap's API gateway does before and after every API call: bearer check, limits, headers."""

from datetime import datetime, time, timedelta

from flask import Response, g, jsonify, request

from invoicesync_sandbox.core.app import current_state
from invoicesync_sandbox.core.tokens import TokenExpired, TokenInvalid
from invoicesync_sandbox.keap.state import THROTTLE_BODY, KeapState, gateway_fault


def keap_state() -> KeapState:
    return current_state()  # type: ignore[return-value]


def _unauthorized(faultstring: str, errorcode: str) -> Response:
    response = jsonify(gateway_fault(faultstring, errorcode))
    response.status_code = 401
    return response


def guard_api_request() -> Response | None:
    """Before an API call: resolve the bearer token, then count it against Keap's limits."""
    state = keap_state()
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return _unauthorized("Invalid access token", "oauth.v2.InvalidAccessToken")
    try:
        g.grant = state.tokens.check_access(header[7:].strip())
    except TokenExpired:
        return _unauthorized("Access Token expired", "keymanagement.service.access_token_expired")
    except TokenInvalid:
        return _unauthorized("Invalid access token", "oauth.v2.InvalidAccessToken")
    g.client_key = f"client:{g.grant.client_id}"
    g.tenant_key = f"tenant:{g.grant.subject['app_id']}"
    client_violation = state.limiter.hit(
        g.client_key, [state.spike_arrest, state.throttle, state.quota]
    )
    tenant_violation = None
    if client_violation is None:
        tenant_violation = state.limiter.hit(g.tenant_key, [state.tenant_throttle])
    if client_violation or tenant_violation:
        # Keap sends no Retry-After; clients are expected to read the x-keap-* headers.
        response = jsonify(THROTTLE_BODY)
        response.status_code = 429
        return response
    return None


def add_limit_headers(response: Response) -> Response:
    """After an authenticated API call: the x-keap-* throttle and quota header families."""
    if "client_key" not in g:
        return response
    state = keap_state()
    throttle, quota, tenant = state.throttle, state.quota, state.tenant_throttle
    used = state.limiter.used
    headers = response.headers
    headers["x-keap-product-throttle-limit"] = str(throttle.limit)
    headers["x-keap-product-throttle-time-unit"] = "minute"
    headers["x-keap-product-throttle-interval"] = "1"
    headers["x-keap-product-throttle-used"] = str(used(g.client_key, throttle))
    headers["x-keap-product-throttle-available"] = str(
        state.limiter.remaining(g.client_key, throttle)
    )
    headers["x-keap-product-quota-limit"] = str(quota.limit)
    headers["x-keap-product-quota-time-unit"] = "day"
    headers["x-keap-product-quota-interval"] = "1"
    headers["x-keap-product-quota-used"] = str(used(g.client_key, quota))
    headers["x-keap-product-quota-available"] = str(state.limiter.remaining(g.client_key, quota))
    headers["x-keap-product-quota-expiry-time"] = _next_utc_midnight(state.clock.now())
    headers["x-keap-tenant-throttle-limit"] = str(tenant.limit)
    headers["x-keap-tenant-throttle-used"] = str(used(g.tenant_key, tenant))
    headers["x-keap-tenant-throttle-available"] = str(state.limiter.remaining(g.tenant_key, tenant))
    return response


def _next_utc_midnight(now: datetime) -> str:
    midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)
    return midnight.strftime("%Y-%m-%dT%H:%M:%SZ")


def keap_bad_request(message: str) -> Response:
    return keap_state().error_response(400, message)


def keap_not_found(message: str) -> Response:
    return keap_state().error_response(404, message)
