"""Hook subscriptions against the Keap stand-in: created, verified, re-verified or re-created."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask, Response, request

from ingest.hooks_app import create_app as create_hooks_app
from invoicesync.hook_subscriptions import (
    REQUIRED_EVENT_KEYS,
    ensure_hook_subscriptions,
    keap_hook_url,
)
from invoicesync.stores.tenants import TenantStore
from tests.integration.ingest_keap.keap_side import seed_orders
from tests.integration.stores.local_servers import serving
from tests.waiting import eventually

pytestmark = pytest.mark.infra


class Receiver:
    """A hook endpoint whose handshake echo and delivery answers a test can switch."""

    def __init__(self) -> None:
        self.echo_handshake = True
        self.delivery_status = 200
        self.app = Flask("receiver")
        self.app.add_url_rule("/hooks/keap/<token>", view_func=self._receive, methods=["POST"])

    def _receive(self, token: str) -> Response:
        secret = request.headers.get("X-Hook-Secret")
        if secret is not None:
            response = Response(status=200)
            if self.echo_handshake:
                response.headers["X-Hook-Secret"] = secret
            return response
        return Response(status=self.delivery_status)


def statuses(keap, tenant_id: str, url: str) -> dict[str, str]:
    hooks = keap.client().list_hooks(tenant_id)
    return {hook.event_key: hook.status for hook in hooks if hook.hook_url == url}


def test_connecting_keap_creates_a_verified_subscription_per_event_key(
    keap, tenant_id, settings, redis_client
):
    with serving(create_hooks_app(settings)) as hooks_base_url:
        keap_settings = replace(keap.settings, hooks_base_url=hooks_base_url)
        first = ensure_hook_subscriptions(tenant_id, settings=keap_settings, client=redis_client)
        second = ensure_hook_subscriptions(tenant_id, settings=keap_settings, client=redis_client)
        url = keap_hook_url(hooks_base_url, TenantStore(redis_client).get(tenant_id).hook_token)

        assert first.created == REQUIRED_EVENT_KEYS and first.all_verified
        assert second.created == () and second.reverified == () and second.all_verified
        assert statuses(keap, tenant_id, url) == {key: "Verified" for key in REQUIRED_EVENT_KEYS}
        assert len(keap.client().list_hooks(tenant_id)) == len(REQUIRED_EVENT_KEYS)


def test_a_subscription_keap_made_inactive_is_verified_again(keap, tenant_id, redis_client):
    receiver = Receiver()
    with serving(receiver.app) as hooks_base_url:
        keap_settings = replace(keap.settings, hooks_base_url=hooks_base_url)
        url = keap_hook_url(hooks_base_url, TenantStore(redis_client).get(tenant_id).hook_token)
        ensure_hook_subscriptions(tenant_id, settings=keap_settings, client=redis_client)
        # A 410 answer makes Keap deactivate the subscription at once.
        receiver.delivery_status = 410
        seed_orders(keap, 1)
        keap.control("POST", "/_sandbox/keap/hooks/fire")
        eventually(
            lambda: statuses(keap, tenant_id, url)["order.add"] == "Inactive",
            "Keap to deactivate the order.add subscription",
            step=0.05,
        )
        receiver.delivery_status = 200

        check = ensure_hook_subscriptions(tenant_id, settings=keap_settings, client=redis_client)

        assert set(check.reverified) == {"order.add", "invoice.add"}
        assert check.created == () and check.all_verified
        assert statuses(keap, tenant_id, url) == {key: "Verified" for key in REQUIRED_EVENT_KEYS}


def test_subscriptions_that_stay_unverified_are_reported_then_recreated(
    keap, tenant_id, redis_client
):
    receiver = Receiver()
    receiver.echo_handshake = False
    with serving(receiver.app) as hooks_base_url:
        keap_settings = replace(keap.settings, hooks_base_url=hooks_base_url)
        url = keap_hook_url(hooks_base_url, TenantStore(redis_client).get(tenant_id).hook_token)

        broken = ensure_hook_subscriptions(tenant_id, settings=keap_settings, client=redis_client)
        stale_keys = {hook.key for hook in keap.client().list_hooks(tenant_id)}
        recreated = ensure_hook_subscriptions(
            tenant_id, settings=keap_settings, client=redis_client
        )
        receiver.echo_handshake = True
        fixed = ensure_hook_subscriptions(tenant_id, settings=keap_settings, client=redis_client)

        assert broken.unverified == REQUIRED_EVENT_KEYS
        assert recreated.recreated == REQUIRED_EVENT_KEYS
        assert recreated.unverified == REQUIRED_EVENT_KEYS
        assert stale_keys.isdisjoint(h.key for h in keap.client().list_hooks(tenant_id))
        assert fixed.reverified == REQUIRED_EVENT_KEYS and fixed.all_verified
        assert statuses(keap, tenant_id, url) == {key: "Verified" for key in REQUIRED_EVENT_KEYS}


def test_a_deleted_subscription_is_created_again(keap, tenant_id, redis_client):
    receiver = Receiver()
    with serving(receiver.app) as hooks_base_url:
        keap_settings = replace(keap.settings, hooks_base_url=hooks_base_url)
        ensure_hook_subscriptions(tenant_id, settings=keap_settings, client=redis_client)
        client = keap.client()
        gone = next(h for h in client.list_hooks(tenant_id) if h.event_key == "invoice.edit")
        client.delete_hook(tenant_id, gone.key)

        check = ensure_hook_subscriptions(tenant_id, settings=keap_settings, client=redis_client)

        assert check.created == ("invoice.edit",) and check.all_verified
