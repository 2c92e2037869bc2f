"""The OAuth `state` parameter: opaque, single use, ten minutes, bound to a tenant and provider."""

from __future__ import annotations

import json
import secrets

import redis

from invoicesync.errors import InvalidInput

STATE_TTL_SECONDS = 600


def state_key(state: str) -> str:
    return f"invoicesync:oauth-state:{state}"


class OAuthState:
    """Issue a state before redirecting to the provider; consume it once on the callback."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int = STATE_TTL_SECONDS) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def issue(self, tenant_id: str, provider: str) -> str:
        state = secrets.token_urlsafe(32)
        binding = json.dumps({"tenant_id": tenant_id, "provider": provider})
        self._redis.set(state_key(state), binding, ex=self._ttl, nx=True)
        return state

    def consume(self, state: str, provider: str) -> str:
        """The tenant the state was issued for. Unknown, expired, reused or issued for another
        provider: InvalidInput."""
        if not state or len(state) > 128:
            raise InvalidInput("OAuth state is missing or malformed", field="state")
        raw = self._redis.getdel(state_key(state))
        if raw is None:
            raise InvalidInput("OAuth state is unknown, expired or already used", field="state")
        binding = json.loads(raw)
        if binding["provider"] != provider:
            raise InvalidInput("OAuth state was issued for another provider", field="state")
        return str(binding["tenant_id"])
