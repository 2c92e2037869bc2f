"""The Xero stand-in's state: core mechanisms plus its books, limits and webhook subscription."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Response

from invoicesync_sandbox.core.limits import ConcurrencyGate, RateLimitRule
from invoicesync_sandbox.core.state import SandboxState
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID
from invoicesync_sandbox.xero import errors
from invoicesync_sandbox.xero.store import XeroStore

ACCESS_TTL = 30 * 60
REFRESH_TTL = 60 * 24 * 3600
REFRESH_GRACE = 30 * 60
MINUTE = RateLimitRule("minute", 60, 60)
DAY = RateLimitRule("day", 5000, 24 * 3600)
APP_MINUTE = RateLimitRule("appminute", 10_000, 60)
CONCURRENT_CALLS = 5
# "Your endpoint must respond within 5 seconds" (developer.xero.com/documentation/webhooks/
# configuring-your-server, xero.md §8 [DOC-WH, H]): a slower answer is a failed delivery,
# retried like any other failure (and an intent-to-receive check that fails).
WEBHOOK_DEADLINE_SECONDS = 5.0


def connection_key(client_id: str, tenant_id: str) -> str:
    """What Xero's per-connection limits count by: one app on one organisation."""
    return f"connection:{client_id}:{tenant_id}"


DEFAULT_SCOPES = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.transactions",
    "accounting.contacts",
    "accounting.settings",
]


@dataclass
class WebhookSubscription:
    url: str
    key: str
    active: bool = False
    intent_checks: int = 0
    intent_failures: int = 0
    # Undocumented at Xero, so off unless a test asks for it (see payments_routes).
    invoice_events_on_payment: bool = False


class XeroState(SandboxState):
    def __init__(self, public_url: str = "http://127.0.0.1:8902") -> None:
        super().__init__(
            "xero",
            access_ttl=ACCESS_TTL,
            refresh_ttl=REFRESH_TTL,
            single_use_refresh=True,
            reuse_grace_seconds=REFRESH_GRACE,
            on_reset=self._forget_data,
        )
        self.request_id_header = "Xero-Correlation-Id"
        self.public_url = public_url.rstrip("/")
        self.store = XeroStore()
        self.concurrency = ConcurrencyGate(CONCURRENT_CALLS)
        self.webhooks.timeout_seconds = WEBHOOK_DEADLINE_SECONDS
        self.webhook: WebhookSubscription | None = None
        self.default_tenant_id = ""
        self._forget_data()

    def _forget_data(self) -> None:
        self.store.clear()
        self.webhook = None
        self.default_tenant_id = self.store.create_books(
            "Demo Company (Global)", self.clock.now()
        ).tenant_id

    def issue_token(self, payload: dict) -> dict:
        """Control surface: connect `client_id`'s demo user to an org (created on demand)."""
        client_id = payload.get("client_id") or DEMO_CLIENT_ID
        if not self.tokens.is_known_client(client_id):
            raise ValueError(f"unknown client_id {client_id}")
        tenant_id = payload.get("tenant_id") or None
        if tenant_id is None and not payload.get("tenant_name"):
            tenant_id = self.default_tenant_id
        books = self.store.create_books(
            payload.get("tenant_name") or "Demo Company (Global)", self.clock.now(), tenant_id
        )
        user_id = payload.get("user_id", "demo-user")
        pair = self.connect_and_issue(client_id, user_id, books.tenant_id, DEFAULT_SCOPES)
        return token_response(pair) | {"tenant_id": books.tenant_id, "tenant_name": books.name}

    def connect_and_issue(self, client_id: str, user_id: str, tenant_id: str, scopes) -> object:
        auth_event_id = str(uuid.uuid4())
        self.store.connect(client_id, user_id, tenant_id, auth_event_id, self.clock.now())
        subject = {"user_id": user_id, "auth_event_id": auth_event_id}
        return self.tokens.issue(client_id, subject, tuple(scopes))

    def authorization_subject(self, client_id: str, user_id: str) -> dict:
        """What the consent screen grants: the demo user connects the default organisation."""
        auth_event_id = str(uuid.uuid4())
        self.store.connect(
            client_id, user_id, self.default_tenant_id, auth_event_id, self.clock.now()
        )
        return {"user_id": user_id, "auth_event_id": auth_event_id}

    def error_response(self, status: int, message: str) -> Response:
        if status == 429:
            return errors.too_many_requests("minute", 60, {})
        if status in (401, 403):
            return errors.problem(status, "Unauthorized" if status == 401 else "Forbidden", message)
        if status == 404:
            return errors.not_found()
        if status == 503:
            return Response("The Xero API is currently offline for maintenance", 503)
        return Response(message, status=status, mimetype="text/plain")


def token_response(pair) -> dict:
    body = {
        "id_token": pair.id_token or "",
        "access_token": pair.access_token,
        "expires_in": pair.expires_in,
        "token_type": pair.token_type,
        "refresh_token": pair.refresh_token,
        "scope": " ".join(DEFAULT_SCOPES),
    }
    if not pair.id_token:
        del body["id_token"]
    return body
