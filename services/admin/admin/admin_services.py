"""What the admin API and the operator CLI work with: one Redis, one publisher, the stores."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
import requests

from admin.consumer_lag import ConsumerLagReader
from admin.reference_data import QboReferenceData, ReferenceData, XeroReferenceData
from admin.stores.activity import ActivityLog
from admin.stores.api_keys import ApiKeyStore
from admin.stores.oauth_state import OAuthState
from admin.stores.pending_connections import PendingConnections
from invoicesync.clients.oauth import OAuthClient
from invoicesync.clients.provider_http import ProviderHttp
from invoicesync.clients.qbo import qbo_lost_access
from invoicesync.clients.xero import xero_lost_access
from invoicesync.crypto import cipher_from_settings
from invoicesync.domain.canonical import Destination
from invoicesync.kafka.publisher import Publisher
from invoicesync.settings import Settings
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.backfill_jobs import BackfillJobs
from invoicesync.stores.limiter import (
    QBO_REALM,
    QBO_REALM_CONCURRENCY,
    XERO_APP,
    XERO_TENANT,
    XERO_TENANT_CONCURRENCY,
    Limiter,
    TokenBucket,
)
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import TokenStore

PROVIDERS = ("keap", "xero", "qbo")


@dataclass
class AdminServices:
    settings: Settings
    redis: redis.Redis
    publisher: Publisher
    tokens: TokenStore
    session: requests.Session = field(default_factory=requests.Session)
    _consumer_lag: ConsumerLagReader | None = field(default=None, repr=False)

    @property
    def consumer_lag(self) -> ConsumerLagReader:
        """One per process, opened on first use (after a gunicorn fork)."""
        if self._consumer_lag is None:
            self._consumer_lag = ConsumerLagReader(self.settings)
        return self._consumer_lag

    @classmethod
    def from_settings(
        cls, settings: Settings, *, publish_timeout_seconds: float = 10.0
    ) -> AdminServices:
        """Clients connect lazily, so this is safe before a gunicorn fork."""
        client = redis_from_settings(settings)
        return cls(
            settings=settings,
            redis=client,
            publisher=Publisher(settings, timeout_seconds=publish_timeout_seconds),
            tokens=TokenStore(client, cipher_from_settings(settings)),
        )

    @property
    def tenants(self) -> TenantStore:
        return TenantStore(self.redis)

    @property
    def api_keys(self) -> ApiKeyStore:
        return ApiKeyStore(self.redis)

    @property
    def activity(self) -> ActivityLog:
        return ActivityLog(self.redis)

    @property
    def backfill_jobs(self) -> BackfillJobs:
        return BackfillJobs(self.redis)

    @property
    def oauth_state(self) -> OAuthState:
        return OAuthState(self.redis)

    @property
    def pending_connections(self) -> PendingConnections:
        return PendingConnections(self.redis, cipher_from_settings(self.settings))

    def oauth_client(self, provider: str) -> OAuthClient:
        return OAuthClient(
            self.settings.endpoints(provider),
            provider,
            self.session,
            timeout=self.settings.oauth_token_timeout_seconds,
        )

    @property
    def access_tokens(self) -> AccessTokens:
        return AccessTokens(self.tokens, self.oauth_client, self.redis)

    def redirect_uri(self, provider: str) -> str:
        return f"{self.settings.public_base_url.rstrip('/')}/api/v1/oauth/{provider}/callback"

    def reference_data(self, tenant_id: str, destination: Destination) -> ReferenceData | None:
        """The destination's lists for this tenant, or None while it is not connected."""
        provider = destination.value
        connection = self.tokens.load(provider, tenant_id)
        if connection is None or connection.status != "connected":
            return None
        api_base = self.settings.endpoints(provider).api_base
        http = self._provider_http(provider)
        if destination is Destination.XERO:
            return XeroReferenceData(
                http, api_base, tenant_id, connection.external_id, cache=self.redis
            )
        return QboReferenceData(http, api_base, tenant_id, connection.external_id, cache=self.redis)

    def _provider_http(self, provider: str) -> ProviderHttp:
        access = self.access_tokens
        rules = XERO_TENANT + XERO_APP if provider == "xero" else QBO_REALM
        concurrency = XERO_TENANT_CONCURRENCY if provider == "xero" else QBO_REALM_CONCURRENCY
        return ProviderHttp(
            provider,
            self.session,
            access,
            Limiter(self.redis),
            rules_for=lambda _tenant_id: rules,
            scope_key_for=lambda tenant_id: f"{provider}:{tenant_id}",
            concurrency_for=lambda _tenant_id: concurrency,
            lost_access=xero_lost_access if provider == "xero" else qbo_lost_access,
        )

    def take_tenant_share(self, tenant_id: str, action: str) -> None:
        """One `sync_id` or `status` call from the tenant's share; RateLimited (a 429) once the
        share is spent, so one tenant's loop cannot crowd out everyone else's."""
        burst = getattr(self.settings, f"{action}_tenant_burst")
        rate = getattr(self.settings, f"{action}_tenant_per_second")
        Limiter(self.redis).take(tenant_id, TokenBucket(action, burst, rate, min_retry_seconds=0))

    def close(self) -> None:
        if self._consumer_lag is not None:
            self._consumer_lag.close()
        self.publisher.close()
        self.session.close()
        self.redis.close()
