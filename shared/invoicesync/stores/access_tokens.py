"""Valid access tokens on demand: refresh near expiry, once, under a lock, saved before use.

Xero refresh tokens are single use and QBO's rotate, so two replicas refreshing at once would
burn the pair: every refresh happens under a per-tenant, per-provider lock and re-reads first.
The connection records a refresh as started before the call and saves its answer after: Keap
rotates with no grace (shared/reference/keap.md §1), so an answer lost in transit burns the
pair, and the refused retry that follows is raised as an alert, never a silent disconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis
import requests

from invoicesync.clients.oauth import OAuthClient, OAuthInvalidGrant
from invoicesync.crypto import TokenCipher
from invoicesync.errors import Disconnected, Transient
from invoicesync.settings import Settings
from invoicesync.stores.locks import tenant_lock
from invoicesync.stores.tokens import ProviderConnection, TokenStore

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(seconds=60)
# Longer than the token endpoint's read timeout: a lock that lapses mid-refresh would let a
# second replica spend the same refresh token.
REFRESH_LOCK_TTL_SECONDS = 60.0
REFRESH_LOCK_WAIT_SECONDS = 40.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AccessTokens:
    def __init__(
        self,
        store: TokenStore,
        oauth_client_for_provider: Callable[[str], OAuthClient],
        client: redis.Redis,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._store = store
        self._oauth_for = oauth_client_for_provider
        self._redis = client
        self._clock = clock

    def access_token(self, provider: str, tenant_id: str) -> str:
        """A token valid for at least another minute. Raises Disconnected when there is none."""
        connection = self._connected(provider, tenant_id)
        if self._fresh(connection):
            return connection.access_token
        with self._refresh_lock(provider, tenant_id):
            connection = self._connected(provider, tenant_id)
            if self._fresh(connection):  # another replica refreshed while we waited
                return connection.access_token
            return self._refresh(connection)

    def force_refresh(self, provider: str, tenant_id: str, rejected_token: str) -> str:
        """After a 401: refresh, unless the stored token has already moved past the rejected one."""
        with self._refresh_lock(provider, tenant_id):
            connection = self._connected(provider, tenant_id)
            if connection.access_token != rejected_token:
                return connection.access_token
            return self._refresh(connection)

    def refresh_if_idle(self, provider: str, tenant_id: str, renewed_before: datetime) -> bool:
        """Refresh a connected connection whose refresh token was issued before
        `renewed_before`, so an unused refresh token never reaches its expiry. True if it did."""
        with self._refresh_lock(provider, tenant_id):
            connection = self._connected(provider, tenant_id)
            if connection.last_renewed_at >= renewed_before:
                return False
            self._refresh(connection)
            return True

    def lose_connection(self, provider: str, tenant_id: str, reason: str) -> Disconnected:
        """The provider will not take our tokens any more: mark the connection lost (status
        pages and the console show it, writers stop and report) and return the error to raise."""
        self._store.mark_disconnected(provider, tenant_id, reason)
        log.warning(
            "connection lost",
            extra={"provider": provider, "tenant_id": tenant_id, "reason": reason},
        )
        return Disconnected(f"{provider} connection lost for {tenant_id}: {reason}")

    def note_forbidden(self, provider: str, tenant_id: str, reason: str) -> None:
        """The provider answered 403 for this connection (connection health shows it)."""
        self._store.note(provider, tenant_id, forbidden_at=self._clock(), forbidden_reason=reason)

    def save_connection(self, connection: ProviderConnection) -> None:
        """Store a new consent's tokens under the refresh lock, so no refresh in progress can
        overwrite them with the pair it was spending (the OAuth callback saves this way)."""
        with self._refresh_lock(connection.provider, connection.tenant_id):
            self._store.save(connection)

    def _refresh_lock(self, provider: str, tenant_id: str) -> AbstractContextManager[None]:
        return tenant_lock(
            self._redis,
            f"token-refresh:{provider}",
            tenant_id,
            ttl_seconds=REFRESH_LOCK_TTL_SECONDS,
            wait_seconds=REFRESH_LOCK_WAIT_SECONDS,
        )

    def _connected(self, provider: str, tenant_id: str) -> ProviderConnection:
        connection = self._store.load(provider, tenant_id)
        if connection is None:
            raise Disconnected(f"{provider} is not connected for tenant {tenant_id}")
        if connection.status == "disconnected":
            raise Disconnected(
                f"{provider} is disconnected for tenant {tenant_id}: "
                f"{connection.disconnected_reason}"
            )
        return connection

    def _fresh(self, connection: ProviderConnection) -> bool:
        return connection.access_expires_at - self._clock() > REFRESH_MARGIN

    def _refresh(self, connection: ProviderConnection) -> str:
        provider, tenant_id = connection.provider, connection.tenant_id
        unanswered = connection.refresh_started_at  # an earlier call whose answer never came
        self._store.note(provider, tenant_id, refresh_started_at=self._clock())
        try:
            response = self._oauth_for(provider).refresh(connection.refresh_token)
        except OAuthInvalidGrant as exc:
            if unanswered is not None:
                raise self._lost_refresh_answer(connection, unanswered) from exc
            raise self.lose_connection(provider, tenant_id, "refresh token rejected") from exc
        except Transient as exc:
            # The answer may be lost after the provider rotated the pair: the mark stays.
            self._store.note(
                provider, tenant_id, refresh_failed_at=self._clock(), refresh_error=str(exc)
            )
            raise
        now = self._clock()
        refresh_expires_at = connection.refresh_expires_at
        if response.x_refresh_token_expires_in is not None:
            refresh_expires_at = now + timedelta(seconds=response.x_refresh_token_expires_in)
        renewed = replace(
            connection,
            access_token=response.access_token,
            refresh_token=response.refresh_token or connection.refresh_token,
            access_expires_at=now + timedelta(seconds=response.expires_in),
            refresh_expires_at=refresh_expires_at,
            refreshed_at=now,
            refresh_started_at=None,
            refresh_failed_at=None,
            refresh_error="",
        )
        self._store.save(renewed)
        log.info("access token refreshed", extra={"provider": provider, "tenant_id": tenant_id})
        return renewed.access_token

    def _lost_refresh_answer(
        self, connection: ProviderConnection, unanswered: datetime
    ) -> Disconnected:
        """A refresh whose answer never arrived, then the refresh token refused: the provider
        rotated the pair and the new one was lost. Only a reconnect helps; say so loudly."""
        provider, tenant_id = connection.provider, connection.tenant_id
        alert = (
            f"{provider} refused the refresh token after the answer to an earlier refresh "
            f"(started {unanswered:%Y-%m-%d %H:%M} UTC) was lost: {provider} replaced the "
            "tokens and the new ones never arrived. Reconnect it to resume syncing"
        )
        self._store.mark_disconnected(
            provider, tenant_id, "refresh answer lost; reconnect needed", alert=alert
        )
        log.error(
            "connection lost: a refresh answer was lost",
            extra={"provider": provider, "tenant_id": tenant_id},
        )
        return Disconnected(f"{provider} connection lost for {tenant_id}: {alert}")


def access_tokens_from_settings(settings: Settings, client: redis.Redis) -> AccessTokens:
    """Access tokens for every provider, each refreshed through its own OAuth client."""
    session = requests.Session()
    store = TokenStore(client, TokenCipher(settings.token_encryption_key))
    timeout = settings.oauth_token_timeout_seconds

    def oauth_client(provider: str) -> OAuthClient:
        return OAuthClient(settings.endpoints(provider), provider, session, timeout=timeout)

    return AccessTokens(store, oauth_client, client)
