"""The QBO stand-in's state: the shared sandbox core plus companies, limits and webhook target."""

from __future__ import annotations

import os
from datetime import datetime

from flask import Response

from invoicesync_sandbox.core.limits import ConcurrencyGate, RateLimitRule
from invoicesync_sandbox.core.state import SandboxState
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, TokenPair

from .faults import QboFault, authentication_fault_body, fault_body, throttle_xml
from .notifications import WebhookTarget
from .seed import new_company
from .store import QboCompany, QboStore
from .wire import company_time, dump_json

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
ACCESS_TTL_SECONDS = 3600
# Intuit's token responses say 8726400 s (about 101 days) for x_refresh_token_expires_in.
REFRESH_TTL_SECONDS = 8_726_400
ROTATION_SECONDS = 24 * 3600
JSON_TYPE = "application/json;charset=UTF-8"


class QboState(SandboxState):
    request_id_header = "intuit_tid"

    def __init__(self) -> None:
        rotation = int(os.environ.get("QBO_SANDBOX_REFRESH_ROTATION_SECONDS", ROTATION_SECONDS))
        super().__init__(
            "qbo",
            access_ttl=ACCESS_TTL_SECONDS,
            refresh_ttl=REFRESH_TTL_SECONDS,
            single_use_refresh=True,
            reuse_grace_seconds=rotation,
            on_reset=self._forget_data,
        )
        self.store = QboStore()
        self.webhook_target: WebhookTarget | None = None
        self.public_url = os.environ.get("SANDBOX_PUBLIC_URL", "http://127.0.0.1:8903")
        self.minute_rule = RateLimitRule("realm-minute", 500, 60)
        # Intuit's limits page: 10 requests per second per realm and app (qbo.md §8 [LIMITS]),
        # answered like every QBO throttle with the XML 429 ThrottleExceeded body.
        self.second_rule = RateLimitRule("realm-app-second", 10, 1)
        self.batch_rule = RateLimitRule("realm-batch-minute", 40, 60)
        self.concurrency = ConcurrencyGate(10)
        self.default_realm_id: str | None = None
        # Realms where the user lost access to the app (or the company's subscription lapsed).
        self.revoked_realms: set[str] = set()

    def _forget_data(self) -> None:
        self.store.clear()
        self.webhook_target = None
        self.default_realm_id = None
        self.revoked_realms = set()
        self.concurrency = ConcurrencyGate(self.concurrency.limit)

    def company_for(self, realm_id: str | None, name: str, country: str) -> QboCompany:
        """The company with this realmId, created (and seeded) when it does not exist yet."""
        realm_id = realm_id or self.store.new_realm_id()
        company = self.store.company(realm_id)
        if company is None:
            company = self.store.add(new_company(realm_id, name, country, self.clock.now()))
        return company

    def default_company(self) -> QboCompany:
        """The company the consent screen connects when the caller names none."""
        company = self.company_for(self.default_realm_id, "Sandbox Company_US_1", "US")
        self.default_realm_id = company.realm_id
        return company

    def issue_token(self, payload: dict) -> dict:
        client_id = payload.get("client_id") or DEMO_CLIENT_ID
        company = self.company_for(
            payload.get("realm_id"),
            payload.get("company_name") or "Sandbox Company",
            payload.get("country") or "US",
        )
        pair = self.tokens.issue(client_id, {"realm_id": company.realm_id}, (ACCOUNTING_SCOPE,))
        body = token_response_body(pair, self.clock.now())
        return {**body, "realmId": company.realm_id, "company_name": company.name}

    def error_response(self, status: int, message: str) -> Response:
        time = company_time(self.clock.now(), -480, millis=True)
        if status == 429:
            return Response(throttle_xml(time), status=429, mimetype="application/xml")
        if status == 401:
            body = authentication_fault_body(message, time)
        else:
            kind = "SystemFault" if status >= 500 else "ValidationFault"
            code = "10000" if status >= 500 else str(status)
            fault = QboFault(code, "An application error has occurred", message, "", status, kind)
            body = fault_body(fault, time)
        return Response(dump_json(body), status=status, content_type=JSON_TYPE)


def token_response_body(pair: TokenPair, now: datetime) -> dict:
    """Intuit's token endpoint body for a core TokenPair."""
    return {
        "token_type": "bearer",
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "x_refresh_token_expires_in": max(0, int((pair.refresh_expires_at - now).total_seconds())),
    }
