"""Keap sandbox state: Keap's token lifetimes, limits, payment types, error shapes and data."""

import os
from dataclasses import dataclass, field

from flask import Response, g, has_request_context, jsonify, request

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


@dataclass
class KeapAccount:
    """One Keap account's data and the hooks subscribed to it."""

    store: KeapStore
    hooks: HookBatcher = field(repr=False)


class KeapState(SandboxState):
    """Everything one Keap stand-in process knows; reset wipes it back to a fresh app.

    Every app id reaches one shared account unless an account of its own was opened for it
    (`POST /_sandbox/keap/accounts`): then what its tokens read, create and subscribe to is
    that account's alone, with its own ids, as with separate Keap customers. Limits, payment
    types and the currency stay the stand-in's, for every account."""

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
        self.shared_account = self._new_account()
        self.own_accounts: dict[str, KeapAccount] = {}
        self.webhooks.retry_backoff_seconds = (1.0, 3.0, 6.0)
        self.on_reset = self._reset_keap
        self._reset_keap()

    def _new_account(self) -> KeapAccount:
        store = KeapStore()
        return KeapAccount(store, HookBatcher(self, store))

    def open_account(self, app_id: str) -> KeapAccount:
        """The app's own account, opened empty the first time it is asked for."""
        if app_id not in self.own_accounts:
            self.own_accounts[app_id] = self._new_account()
        return self.own_accounts[app_id]

    def every_account(self) -> list[KeapAccount]:
        return [self.shared_account, *self.own_accounts.values()]

    @property
    def account(self) -> KeapAccount:
        """The account of the request's token (or, on the sandbox's own routes, its
        `app_id` argument); outside a request, the shared one."""
        app_id = None
        if has_request_context():
            grant = g.get("grant")
            app_id = grant.subject["app_id"] if grant is not None else request.args.get("app_id")
        return self.own_accounts.get(app_id or "", self.shared_account)

    @property
    def store(self) -> KeapStore:
        return self.account.store

    @property
    def hooks(self) -> HookBatcher:
        return self.account.hooks

    def _reset_keap(self) -> None:
        for account in self.every_account():
            account.hooks.reset()
        self.own_accounts = {}
        self.shared_account.store.reset()
        self.payment_types = list(DEFAULT_PAYMENT_TYPES)
        # The app's currency; each order and product keeps the one it was created in.
        self.currency = self.default_currency
        self.throttle = RateLimitRule("throttle", 1500, 60)
        # Keap's API gateway also has a spike arrest of about 25 calls a second per client,
        # with no headers, and bursts can 429 below that rate (reference/keap.md §6, Keap
        # community thread "api-error-quota-exceeded-request-throttled/89944"): counted here
        # as 25 in any sliding second, the same 429 body as the throttle.
        self.spike_arrest = RateLimitRule("spike_arrest", 25, 1)
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
