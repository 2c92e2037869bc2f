"""What the hook receiver does with a delivery, and what it does when Redis or Kafka is away:
Keap is never failed for our own trouble if it can be helped (reference/keap.md §2.6: four
failed attempts mark the subscription Inactive).

- Redis away: tenants are found from the hook tokens this worker already knows, and every id is
  published without de-duplication (transform's content hash catches the repeats);
- Kafka away: `Transient`, answered 503 well within Keap's 30 s, and Keap retries;
- either way the outage is noticed, so its end is recorded and the poller re-verifies the
  tenant's hooks and polls over the gap at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis

from ingest.hook_deliveries import (
    HookNotice,
    mark_seen,
    notices_for,
    queue_token_owner_and_seen,
    read_token_owner_and_unseen,
    unseen,
)
from ingest.outage_recoveries import OutageWatch
from invoicesync.errors import Transient
from invoicesync.events import Topic
from invoicesync.kafka.failure_policies import OUR_OUTAGES
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.stores.limiter import Limiter, TokenBucket
from invoicesync.stores.tenants import TenantStore, hook_token_key

log = logging.getLogger(__name__)

# TenantStore.tenant_for_hook_token answers None for longer tokens without asking Redis.
MAX_HOOK_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class HookShare:
    """Each tenant's share of hook deliveries: a burst, then a steady rate."""

    limiter: Limiter
    bucket: TokenBucket


class HookReceiver:
    def __init__(
        self,
        client: redis.Redis,
        publisher: Publisher,
        watch: OutageWatch,
        *,
        dedup_window_seconds: int,
    ) -> None:
        self._redis = client
        self._dedup_window_seconds = dedup_window_seconds
        self._tenants = TenantStore(client)
        self._publisher = publisher
        self._watch = watch
        self._known_tokens: dict[str, str] = {}

    def learn_hook_tokens(self) -> None:
        """Know every tenant's hook token before Redis can go away (best effort)."""
        try:
            self._known_tokens.update(self._tenants.hook_tokens())
        except OUR_OUTAGES as exc:
            log.warning("hook tokens not loaded; Redis is away", extra={"error": repr(exc)})

    def tenant_for(self, hook_token: str) -> str | None:
        try:
            tenant_id = self._tenants.tenant_for_hook_token(hook_token)
        except OUR_OUTAGES as exc:
            self._watch.noticed(exc)
            if hook_token in self._known_tokens:
                return self._known_tokens[hook_token]
            raise Transient("Redis is away and this hook token is not known here") from exc
        if tenant_id is not None:
            self._known_tokens[hook_token] = tenant_id
        return tenant_id

    def known_tenant(self, hook_token: str) -> str | None:
        """The tenant this worker last found for the token (to be confirmed by Redis)."""
        return self._known_tokens.get(hook_token)

    def accept_for_token(
        self, hook_token: str, tenant_id: str, delivery: dict[str, Any], share: HookShare
    ) -> int | None:
        """`accept` for a token this worker knows, with the tenant's share of deliveries, the
        token's lookup and the ids' de-duplication in one Redis round trip. None when Redis no
        longer gives the token to `tenant_id` (rotated, removed): the caller looks it up
        afresh. RateLimited when the tenant is over its share."""
        notices = notices_for(tenant_id, delivery)
        if not 0 < len(hook_token) <= MAX_HOOK_TOKEN_LENGTH:
            return None
        token_key = hook_token_key(hook_token)
        try:
            refusal, replies = share.limiter.take_along(
                tenant_id,
                share.bucket,
                lambda pipe: queue_token_owner_and_seen(pipe, token_key, notices),
            )
        except OUR_OUTAGES as exc:
            self._watch.noticed(exc)  # unmetered and undeduplicated while Redis is away
            return self._publish(tenant_id, notices, deduplicated=False)
        owner, fresh = read_token_owner_and_unseen(replies, notices)
        if owner != tenant_id:
            self._known_tokens.pop(hook_token, None)
            return None
        if refusal is not None:
            raise refusal
        return self._publish(tenant_id, fresh)

    def accept(self, tenant_id: str, delivery: dict[str, Any]) -> int:
        """Publish the delivery's ids; how many were published. `Transient` if Kafka is away."""
        notices = notices_for(tenant_id, delivery)
        try:
            fresh = unseen(self._redis, notices)
        except OUR_OUTAGES as exc:
            self._watch.noticed(exc)
            return self._publish(tenant_id, notices, deduplicated=False)
        return self._publish(tenant_id, fresh)

    def _publish(
        self, tenant_id: str, fresh: list[HookNotice], *, deduplicated: bool = True
    ) -> int:
        if not deduplicated:
            log.warning(
                "Redis is away: the delivery is published undeduplicated",
                extra={"tenant_id": tenant_id, "ids": len(fresh)},
            )
        try:
            self._publisher.publish_all(
                [Outgoing(Topic.KEAP_NOTIFICATIONS, n.envelope) for n in fresh]
            )
        except Transient as exc:
            self._watch.noticed(exc)
            raise
        self._remember(fresh)
        return len(fresh)

    def _remember(self, published: list[HookNotice]) -> None:
        try:
            mark_seen(self._redis, published, self._dedup_window_seconds)
        except OUR_OUTAGES as exc:
            self._watch.noticed(exc)  # a repeat of these ids is published again: harmless
