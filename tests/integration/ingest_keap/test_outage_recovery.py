"""A Kafka outage at the hook receiver through the Keap stand-in: Keap's deliveries are refused
with 503, Keap marks the subscriptions Inactive after its retries (reference/keap.md §2.6), and
once the outage is over the poller re-verifies them and polls what Keap dropped at once, not at
its next hourly poll."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from ingest.hooks_app import create_app as create_hooks_app
from ingest.outage_recoveries import OutageRecoveries, OutageWatch
from ingest.poller import build_poller
from invoicesync.hook_subscriptions import (
    REQUIRED_EVENT_KEYS,
    ensure_hook_subscriptions,
    keap_hook_url,
)
from invoicesync.stores.tenants import TenantStore
from tests.infrastructure import free_port
from tests.integration.ingest_keap.keap_side import ids_from, read_notifications, seed_orders
from tests.integration.stores.local_servers import serving
from tests.waiting import eventually

pytestmark = pytest.mark.infra


class Switchable:
    """One hook URL served by whichever receiver app is current (down, then up again)."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def statuses(keap, tenant_id: str, url: str) -> set[str]:
    return {h.status for h in keap.client().list_hooks(tenant_id) if h.hook_url == url}


def test_hooks_made_inactive_by_a_kafka_outage_are_reverified_and_the_gap_polled_at_once(
    keap, tenant_id, settings, redis_client
):
    # Keap's stand-in sends each change at once here, not in Keap's batches: a share sized for
    # those would answer 429 before the receiver ever tries the broker.
    settings = replace(settings, hook_tenant_burst=1000)
    kafka_down = replace(settings, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    receiver = Switchable(create_hooks_app(kafka_down, publish_timeout_seconds=1))
    keap.control("PUT", "/_sandbox/faults", {"webhook_delay_seconds": 0})
    with serving(receiver) as hooks_base_url:
        keap_settings = replace(keap.settings, hooks_base_url=hooks_base_url)
        token = TenantStore(redis_client).get(tenant_id).hook_token
        url = keap_hook_url(hooks_base_url, token)
        assert ensure_hook_subscriptions(
            tenant_id, settings=keap_settings, client=redis_client
        ).all_verified
        poller = build_poller(keap_settings, redis_client)
        poller.run_once()  # the hourly poll has just run: nothing else is due for an hour

        order_ids = seed_orders(keap, 5)
        keap.control("POST", "/_sandbox/keap/hooks/fire")
        eventually(
            lambda: "Inactive" in statuses(keap, tenant_id, url),
            "Keap gave up on the refused deliveries",
        )
        attempts = keap.control("GET", "/_sandbox/webhooks/deliveries")
        refused = [d for d in attempts if d["url"] == url and not d["dropped"]]
        assert len(refused) >= 4 and {d["status"] for d in refused} == {503}

        # Kafka is back: the receiver's watch sees every probe answer and records the recovery.
        kafka = {"up": False, "probed": 0}

        def kafka_probe() -> None:
            kafka["probed"] += 1
            if not kafka["up"]:
                raise ConnectionError("broker unreachable")

        recoveries = OutageRecoveries(redis_client)
        watch = OutageWatch(recoveries, probes=(kafka_probe,), interval_seconds=0.1)
        watch.noticed(ConnectionError("publish failed"))
        eventually(lambda: kafka["probed"] >= 3, "the watch probing the broker")
        assert recoveries.pending() == [], "a recovery was recorded while still down"
        kafka["up"] = True
        receiver.app = create_hooks_app(settings, publish_timeout_seconds=5)
        eventually(lambda: len(recoveries.pending()) == 1, "the recovery recorded")

        started = time.monotonic()
        polls = poller.run_once()
        reacted_in = time.monotonic() - started
        poller.close()
        messages = read_notifications(settings, tenant_id, expected=len(order_ids))
        final = statuses(keap, tenant_id, url)

    print(
        f"refused deliveries {len(refused)}, polled {sorted(ids_from(messages, 'poll'))} "
        f"of {sorted(order_ids)}, hooks {final}, in {reacted_in:.1f} s"
    )
    assert final == {"Verified"} and len(keap.client().list_hooks(tenant_id)) == len(
        REQUIRED_EVENT_KEYS
    )
    assert [p.tenant_id for p in polls or []] == [tenant_id]
    assert set(order_ids) <= set(ids_from(messages, "poll"))
    assert recoveries.pending() == []
