"""The OAuth `state` parameter: opaque, single use, ten minutes, bound to a tenant and provider,
to the API key that started the flow and to the browser it started in.

The browser holds a second secret in a cookie set with the redirect to the provider; the
callback must carry it. A consent link sent to someone else comes back from a browser
without it and is refused before the code is exchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

import redis

from invoicesync.errors import InvalidInput

STATE_TTL_SECONDS = 600


def state_key(state: str) -> str:
    return f"invoicesync:oauth-state:{state}"


@dataclass(frozen=True)
class IssuedState:
    state: str
    browser_secret: str  # for the starting browser's cookie, never sent to the provider


@dataclass(frozen=True)
class FlowStart:
    """Who started a consent: the tenant it is for and the API key id that asked."""

    tenant_id: str
    started_by: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class OAuthState:
    """Issue a state before redirecting to the provider; consume it once on the callback."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int = STATE_TTL_SECONDS) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def issue(self, tenant_id: str, provider: str, started_by: str) -> IssuedState:
        issued = IssuedState(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        binding = json.dumps(
            {
                "tenant_id": tenant_id,
                "provider": provider,
                "started_by": started_by,
                "browser": _digest(issued.browser_secret),
            }
        )
        self._redis.set(state_key(issued.state), binding, ex=self._ttl, nx=True)
        return issued

    def consume(self, state: str, provider: str, browser_secret: str) -> FlowStart:
        """Who the state was issued for. Unknown, expired, reused, issued for another provider
        or coming back to another browser: InvalidInput (and the state is spent)."""
        if not state or len(state) > 128:
            raise InvalidInput("OAuth state is missing or malformed", field="state")
        raw = self._redis.getdel(state_key(state))
        if raw is None:
            raise InvalidInput("OAuth state is unknown, expired or already used", field="state")
        binding = json.loads(raw)
        if binding["provider"] != provider:
            raise InvalidInput("OAuth state was issued for another provider", field="state")
        if not hmac.compare_digest(binding["browser"], _digest(browser_secret)):
            raise InvalidInput(
                "this consent was started in another browser; start connecting again from "
                "the console (or API client) of the business it is for",
                field="state",
            )
        return FlowStart(str(binding["tenant_id"]), str(binding["started_by"]))
