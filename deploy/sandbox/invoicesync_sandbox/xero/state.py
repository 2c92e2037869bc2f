"""The Xero stand-in's state: core mechanisms plus its books, limits and webhook subscription."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import Response

from invoicesync_sandbox.core.limits import ConcurrencyGate, RateLimitRule
from invoicesync_sandbox.core.state import SandboxState
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID
from invoicesync_sandbox.xero import errors
from invoicesync_sandbox.xero.events import EventBatches
from invoicesync_sandbox.xero.store import XeroStore

ACCESS_TTL = 30 * 60
# "Unused refresh tokens expire after 60 days"; each refresh issues a new one, so a connection
# refreshed within 60 days never lapses (developer.xero.com/faq/oauth2; shared/reference/xero.md
# §1 "Lifetimes and rotation", §9 gotcha 3).
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
        self.event_batches = EventBatches(self)
        self.default_tenant_id = ""
        # user id -> the organisation names the user ticks on the next consents.
        self.consent_plans: dict[str, list[str]] = {}
        self.tokens.access_token_factory = self._access_jwt
        self._forget_data()

    def _forget_data(self) -> None:
        self.store.clear()
        self.webhook = None
        self.event_batches.reset()
        self.consent_plans = {}
        self.default_tenant_id = self.store.create_books(
            "Demo Company (Global)", self.clock.now()
        ).tenant_id

    def issue_token(self, payload: dict) -> dict:
        """Control surface: connect `client_id`'s demo user to an org (created on demand), with
        the scopes asked for (default: the broad set an app created before March 2026 has)."""
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
        asked = payload.get("scopes") or DEFAULT_SCOPES
        scopes = tuple(asked.split() if isinstance(asked, str) else map(str, asked))
        pair = self.connect_and_issue(client_id, user_id, books.tenant_id, scopes)
        return token_response(pair) | {"tenant_id": books.tenant_id, "tenant_name": books.name}

    def connect_and_issue(self, client_id: str, user_id: str, tenant_id: str, scopes) -> object:
        auth_event_id = str(uuid.uuid4())
        self.store.connect(client_id, user_id, tenant_id, auth_event_id, self.clock.now())
        subject = {"user_id": user_id, "auth_event_id": auth_event_id}
        return self.tokens.issue(client_id, subject, tuple(scopes))

    def authorization_subject(self, client_id: str, user_id: str) -> dict:
        """What the consent screen grants: the organisations the user ticks (the default one
        unless a consent plan names others), all under one new authEventId. Connections made
        earlier keep theirs, as at Xero: /connections lists every organisation the user has
        connected to the app, and `authEventId` is "shared across connections authorised at
        the same time" (specs/xero/xero_identity.yaml, Connection.authEventId)."""
        auth_event_id = str(uuid.uuid4())
        names = self.consent_plans.get(user_id)
        tenant_ids = (
            [self.store.organisation_named(name, self.clock.now()).tenant_id for name in names]
            if names
            else [self.default_tenant_id]
        )
        for tenant_id in tenant_ids:
            self.store.connect(client_id, user_id, tenant_id, auth_event_id, self.clock.now())
        return {"user_id": user_id, "auth_event_id": auth_event_id}

    def remove_app(self, tenant_id: str) -> int:
        """The organisation disconnects the app from inside Xero: its connections go, the
        user's refresh token keeps working, and calls naming it answer 403
        AuthenticationUnsuccessful (shared/reference/xero.md §7 "403" and §9 gotcha 18)."""
        with self.store.lock:
            gone = [c.id for c in self.store.connections.values() if c.tenant_id == tenant_id]
            for connection_id in gone:
                del self.store.connections[connection_id]
        return len(gone)

    def _access_jwt(
        self, client_id: str, subject: dict, scopes: tuple[str, ...], expires: datetime
    ) -> str:
        """Xero access tokens are JWTs whose claims include `authentication_event_id`,
        `xero_userid` and `scope` (shared/reference/xero.md §1 "Lifetimes and rotation"); the
        event id is what a client passes to `GET /connections?authEventId=`. Unsigned here:
        a client reads the claims of a token it got from the token endpoint itself."""
        now = self.clock.now()
        claims = {
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "iss": "https://identity.xero.com",
            "aud": "https://identity.xero.com/resources",
            "client_id": client_id,
            "sub": subject.get("user_id", ""),
            "xero_userid": subject.get("user_id", ""),
            "authentication_event_id": subject.get("auth_event_id", ""),
            "jti": secrets.token_hex(16),
            "scope": list(scopes),
        }
        header = {"alg": "RS256", "kid": "sandbox", "typ": "JWT"}
        return ".".join(
            [_b64(json.dumps(header)), _b64(json.dumps(claims)), secrets.token_urlsafe(32)]
        )

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


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


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
