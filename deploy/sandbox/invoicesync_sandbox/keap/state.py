"""Keap sandbox state: Keap's token lifetimes, limits, payment types, error shapes and data."""

import os

from flask import Response, jsonify, request

from invoicesync_sandbox.core.limits import RateLimitRule
from invoicesync_sandbox.core.state import SandboxState
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID
from invoicesync_sandbox.keap.hook_delivery import HookBatcher
from invoicesync_sandbox.keap.store import KeapStore

ACCESS_TTL_SECONDS = 24 * 3600
REFRESH_TTL_SECONDS = 45 * 24 * 3600
DEFAULT_APP_ID = "ab123"
DEFAULT_PAYMENT_TYPES = ("Cash", "Check", "Credit Card (Manual)", "Money Order", "Adjustment")
THROTTLE_BODY = {
    "code": "429",
    "message": "Quota Exceeded",
    "status": "Request Throttled",
    "details": None,
}
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
    501: "Method Not Implemented",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class KeapState(SandboxState):
    """Everything one Keap stand-in process knows; reset wipes it back to a fresh app."""

    request_id_header = "x-keap-request-id"

    def __init__(self, public_url: str = "http://127.0.0.1:8901") -> None:
        super().__init__(
            "keap",
            access_ttl=ACCESS_TTL_SECONDS,
            refresh_ttl=REFRESH_TTL_SECONDS,
            single_use_refresh=True,
            reuse_grace_seconds=None,
        )
        self.public_url = public_url.rstrip("/")
        self.default_currency = os.environ.get("KEAP_SANDBOX_CURRENCY", "USD")
        self.store = KeapStore()
        self.hooks = HookBatcher(self)
        self.webhooks.retry_backoff_seconds = (1.0, 3.0, 6.0)
        self.on_reset = self._reset_keap
        self._reset_keap()

    def _reset_keap(self) -> None:
        self.store.reset()
        self.hooks.reset()
        self.payment_types = list(DEFAULT_PAYMENT_TYPES)
        # The app's currency; each order and product keeps the one it was created in.
        self.currency = self.default_currency
        self.throttle = RateLimitRule("throttle", 1500, 60)
        self.quota = RateLimitRule("quota", 150_000, 86_400)
        self.tenant_throttle = RateLimitRule("tenant_throttle", 10_000, 60)
        self.handshake_timeout_seconds = 10.0

    def issue_token(self, payload: dict) -> dict:
        client_id = payload.get("client_id") or DEMO_CLIENT_ID
        app_id = payload.get("app_id") or DEFAULT_APP_ID
        pair = self.tokens.issue(client_id, subject_for(app_id), ("full",))
        return token_response(pair, app_id)

    def error_response(self, status: int, message: str) -> Response:
        if status == 429:
            body: dict = THROTTLE_BODY
        elif status == 401:
            body = gateway_fault("Invalid access token", "oauth.v2.InvalidAccessToken")
        elif request.path.startswith("/crm/rest/v1/"):
            body = {"message": message}
        else:
            body = {
                "code": status,
                "message": message,
                "status": _REASONS.get(status, "Error"),
                "details": [],
            }
        response = jsonify(body)
        response.status_code = status
        return response


def subject_for(app_id: str) -> dict:
    return {"app_id": app_id, "tenant_id": app_id}


def token_response(pair, app_id: str) -> dict:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "token_type": "bearer",
        "scope": f"full|{app_id}.infusionsoft.com",
    }


def gateway_fault(faultstring: str, errorcode: str) -> dict:
    """The Apigee gateway body Keap returns before a request reaches the API."""
    return {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}
