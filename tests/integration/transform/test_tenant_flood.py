"""One tenant's hook flood (20 deliveries x 1,000 ids Keap does not know) through the real hook
receiver, transform loop, Keap stand-in and activity consumer: another tenant's invoice goes
through while the flood is still being worked off (not behind it), and its activity log holds
nothing of the flood. How long it took is printed; the benchmarks measure speed."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

import pytest

from admin.activity_consumer import activity_loop
from admin.stores.activity import ActivityLog
from ingest.hooks_app import create_app
from invoicesync.domain.canonical import Destination
from invoicesync.events import Topic
from invoicesync.stores.tenants import TenantStore
from tests.integration.transform.keap_stand_in import keap_stand_in
from tests.integration.transform.test_transform_service import LINES, TopicReader, invoices_for
from tests.waiting import eventually
from transform.main import build_loop

pytestmark = pytest.mark.infra

FLOOD_DELIVERIES = 20
FLOOD_IDS = 1_000


@pytest.fixture
def keap(settings, redis_client):
    """Transform running with a small Keap share per tenant: what matters is the share against
    how fast one transform loop goes, and on a busy test machine the loop is slower than the
    production share (8 calls/s), which would then never run out."""
    with keap_stand_in(settings, redis_client) as stand_in:
        stand_in.settings = replace(
            stand_in.settings, keap_tenant_burst=20, keap_tenant_calls_per_second=1.0
        )
        loop = build_loop(stand_in.settings)
        thread = threading.Thread(
            target=loop.run, kwargs={"install_signal_handlers": False}, daemon=True
        )
        thread.start()
        try:
            yield stand_in
        finally:
            loop.stop()
            thread.join(timeout=10)


def _hook(hooks, token: str, *ids: int | str):
    body = {
        "event_key": "order.edit",
        "object_type": "order",
        "object_keys": [
            {"id": i, "apiUrl": "", "timestamp": "2026-01-01T12:00:00.000Z"} for i in ids
        ],
    }
    response = hooks.post(f"/hooks/keap/{token}", json=body)
    assert response.status_code == 200, response.get_json()
    return response


def _hook_to_invoice_seconds(hooks, events: TopicReader, token: str, order: dict) -> float:
    started = time.perf_counter()
    _hook(hooks, token, order["id"])
    events.until(lambda seen: invoices_for(order["id"])(seen))
    return time.perf_counter() - started


def test_a_hook_flood_does_not_delay_another_tenant(keap, redis_client):
    store = TenantStore(redis_client)
    flooder, quiet = (store.create(name, Destination.XERO) for name in ("Flood", "Quiet"))
    for tenant in (flooder, quiet):
        store.save_settings(tenant.id, _processing_on(store.settings(tenant.id)))
        keap.connect(tenant.id)
    hooks = create_app(keap.settings, publish_timeout_seconds=30).test_client()
    activity = activity_loop(keap.settings, group_id=f"{keap.settings.topic_prefix}activity")
    recorder = threading.Thread(
        target=activity.run, kwargs={"install_signal_handlers": False}, daemon=True
    )
    recorder.start()
    warm_up, before, during = (keap.order(LINES) for _ in range(3))
    events = TopicReader(keap.settings, Topic.CANONICAL_EVENTS)
    try:
        _hook_to_invoice_seconds(hooks, events, quiet.hook_token, warm_up)  # the group joins
        baseline = _hook_to_invoice_seconds(hooks, events, quiet.hook_token, before)

        flood_started = time.perf_counter()
        for delivery in range(FLOOD_DELIVERIES):
            first = 9_000_000_000 + delivery * FLOOD_IDS
            _hook(hooks, flooder.hook_token, *range(first, first + FLOOD_IDS))
        flood_seconds = time.perf_counter() - flood_started
        flooded = _hook_to_invoice_seconds(hooks, events, quiet.hook_token, during)
        print(
            f"\nflood of {FLOOD_DELIVERIES}x{FLOOD_IDS} ids posted in {flood_seconds:.1f} s; "
            f"the other tenant's hook to invoice: {baseline:.2f} s before, {flooded:.2f} s during"
        )
        log = ActivityLog(redis_client)
        flood_ids_read = not_found_count(log, flooder.id)
        # The flood was really read from Keap (and found unknown) while the invoice went through.
        eventually(lambda: not_found_count(log, flooder.id) >= 1, "the flood's not-found results")
    finally:
        events.close()
        activity.stop()
        recorder.join(timeout=10)

    # Worked off at the flooder's share (1 call/s), the flood outlasts the test by hours: the
    # other tenant's invoice came through with most of it still waiting, not after it.
    assert flood_ids_read < FLOOD_DELIVERIES * FLOOD_IDS / 2, flood_ids_read
    quiet_entries = log.page(quiet.id, limit=500).entries
    assert all(int(e.result.keap_id) < 9_000_000_000 for e in quiet_entries)
    flood_entries = log.page(flooder.id, limit=500).entries
    assert len(flood_entries) == 1  # however many ids Keap did not know: one collapsed entry


def not_found_count(log: ActivityLog, tenant_id: str) -> int:
    """How many ids Keap did not know, from the collapsed entries' "N ids this hour"."""
    entries = log.page(tenant_id, limit=500).entries
    return sum(
        int(match.group(1))
        for entry in entries
        if (match := re.search(r"(\d+) ids this hour", entry.result.reason or ""))
    )


def _processing_on(settings):
    return replace(settings, sync=replace(settings.sync, processing_enabled=True))
