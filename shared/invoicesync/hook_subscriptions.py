"""Keap REST hook subscriptions for a tenant: create what is missing, re-verify or re-create
whatever Keap reports Unverified or Inactive, all pointing at the tenant's secret hook URL."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
import requests

from invoicesync.clients.keap import KeapClient, KeapHook, keap_client_from_settings
from invoicesync.settings import Settings
from invoicesync.stores.connection_health import record_hook_check
from invoicesync.stores.locks import tenant_lock
from invoicesync.stores.tenants import TenantStore

log = logging.getLogger(__name__)

# What the sync follows (reference/keap.md §2.2): orders, their invoices and invoice payments.
REQUIRED_EVENT_KEYS: tuple[str, ...] = (
    "order.add",
    "order.edit",
    "order.delete",
    "invoice.add",
    "invoice.edit",
    "invoice.delete",
    "invoice.payment.add",
    "invoice.payment.edit",
    "invoice.payment.delete",
)
# Keap runs the handshake inside our create/verify call; keep one tenant's check single-file.
_LOCK_TTL_SECONDS = 120.0
_LOCK_WAIT_SECONDS = 30.0


class UnknownTenant(KeyError):
    """No tenant has this id."""


def keap_hook_url(hooks_base_url: str, hook_token: str) -> str:
    """The tenant's hook URL; the unguessable token in its path is what authenticates Keap."""
    return f"{hooks_base_url.rstrip('/')}/hooks/keap/{hook_token}"


@dataclass(frozen=True)
class HookCheck:
    """What one check did, by event key. `unverified` lists keys Keap still cannot reach."""

    tenant_id: str
    created: tuple[str, ...] = ()
    reverified: tuple[str, ...] = ()
    recreated: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()

    @property
    def all_verified(self) -> bool:
        return not self.unverified


class HookSubscriptions:
    def __init__(
        self, keap: KeapClient, tenants: TenantStore, client: redis.Redis, hooks_base_url: str
    ) -> None:
        self._keap = keap
        self._tenants = tenants
        self._redis = client
        self._hooks_base_url = hooks_base_url

    def ensure(self, tenant_id: str) -> HookCheck:
        """Make every required subscription exist and be Verified. Safe to run at any time."""
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            raise UnknownTenant(tenant_id)
        url = keap_hook_url(self._hooks_base_url, tenant.hook_token)
        with tenant_lock(
            self._redis, "keap-hooks", tenant_id, _LOCK_TTL_SECONDS, _LOCK_WAIT_SECONDS
        ):
            check = self._ensure(tenant_id, url)
        record_hook_check(self._redis, tenant_id, check.unverified, datetime.now(UTC))
        log.info(
            "keap hook subscriptions checked",
            extra={
                "tenant_id": tenant_id,
                "hooks_created": list(check.created),
                "hooks_reverified": list(check.reverified),
                "hooks_recreated": list(check.recreated),
                "hooks_unverified": list(check.unverified),
            },
        )
        return check

    def retire(self, tenant_id: str, url: str) -> int:
        """Delete the subscriptions at a URL the tenant no longer uses (a rotated hook token);
        returns how many."""
        retired = [hook for hook in self._keap.list_hooks(tenant_id) if hook.hook_url == url]
        for hook in retired:
            self._keap.delete_hook(tenant_id, hook.key)
        return len(retired)

    def _ensure(self, tenant_id: str, url: str) -> HookCheck:
        # Only hooks at this tenant's own URL are ours to manage; anything else in the app is
        # someone else's (another integration, or a tenant sharing a Keap app).
        ours: dict[str, list[KeapHook]] = defaultdict(list)
        for hook in self._keap.list_hooks(tenant_id):
            if hook.hook_url == url:
                ours[hook.event_key].append(hook)
        created, reverified, recreated, unverified = [], [], [], []
        for event_key in REQUIRED_EVENT_KEYS:
            hooks = sorted(ours.get(event_key, []), key=lambda h: not h.verified)
            for duplicate in hooks[1:]:
                self._keap.delete_hook(tenant_id, duplicate.key)
            if not hooks:
                hook = self._keap.create_hook(tenant_id, event_key, url)
                created.append(event_key)
            elif hooks[0].verified:
                continue
            else:
                hook = self._keap.verify_hook(tenant_id, hooks[0].key)
                if hook.verified:
                    reverified.append(event_key)
                else:
                    # A subscription that stays Unverified/Inactive is replaced by a fresh one.
                    self._keap.delete_hook(tenant_id, hook.key)
                    hook = self._keap.create_hook(tenant_id, event_key, url)
                    recreated.append(event_key)
            if not hook.verified:
                unverified.append(event_key)
        return HookCheck(
            tenant_id, tuple(created), tuple(reverified), tuple(recreated), tuple(unverified)
        )


def ensure_hook_subscriptions(
    tenant_id: str,
    *,
    settings: Settings,
    client: redis.Redis,
    session: requests.Session | None = None,
    retired_hook_token: str | None = None,
) -> HookCheck:
    """Call once Keap is connected (the OAuth callback) and periodically (the poller).
    `retired_hook_token`: a token just rotated away, whose subscriptions go first."""
    subscriptions = HookSubscriptions(
        keap_client_from_settings(settings, client, session),
        TenantStore(client),
        client,
        settings.hooks_base_url,
    )
    if retired_hook_token:
        subscriptions.retire(tenant_id, keap_hook_url(settings.hooks_base_url, retired_hook_token))
    return subscriptions.ensure(tenant_id)
