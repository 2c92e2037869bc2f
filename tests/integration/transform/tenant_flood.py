"""One tenant's hook flood of ids Keap does not know, through the real hook receiver, transform
loop, Keap stand-in and activity consumer, while another tenant's invoice goes through: the
scenario the flood test checks and the flood benchmark times at the issue's full size."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import redis

from admin.activity_consumer import activity_loop
from admin.stores.activity import ActivityEntry, ActivityLog
from ingest.hooks_app import create_app
from invoicesync.domain.canonical import Destination
from invoicesync.events import Topic
from invoicesync.settings import Settings
from invoicesync.stores.tenants import TenantStore
from tests.integration.transform.keap_stand_in import KeapStandIn, keap_stand_in
from tests.integration.transform.test_transform_service import LINES, TopicReader, invoices_for
from tests.waiting import eventually
from transform.main import build_loop

FIRST_FLOOD_ID = 9_000_000_000


@dataclass(frozen=True)
class FloodOutcome:
    posted_seconds: float
    baseline_seconds: float
    flooded_seconds: float
    flood_ids_read: int  # when the other tenant's invoice was out
    quiet_entries: list[ActivityEntry]
    flood_entries: list[ActivityEntry]


@contextmanager
def transform_with_small_shares(settings: Settings, client: redis.Redis) -> Iterator[KeapStandIn]:
    """Transform running with a small Keap share per tenant: what matters is the share against
    how fast one transform loop goes, and on a busy machine the loop is slower than the
    production share (8 calls/s), which would then never run out."""
    with keap_stand_in(settings, client) as stand_in:
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


def not_found_count(log: ActivityLog, tenant_id: str) -> int:
    """How many ids Keap did not know, from the collapsed entries' "N ids this hour"."""
    return sum(
        int(match.group(1))
        for entry in log.page(tenant_id, limit=500).entries
        if (match := re.search(r"(\d+) ids this hour", entry.result.reason or ""))
    )


def run_flood(keap: KeapStandIn, client: redis.Redis, deliveries: int, ids: int) -> FloodOutcome:
    store = TenantStore(client)
    flooder, quiet = (store.create(name, Destination.XERO) for name in ("Flood", "Quiet"))
    for tenant in (flooder, quiet):
        store.save_settings(tenant.id, _processing_on(store.settings(tenant.id)))
        keap.connect(tenant.id)
    hooks = create_app(keap.settings, publish_timeout_seconds=30).test_client()
    activity = activity_loop(keap.settings)  # its group is behind the test's topic prefix
    recorder = threading.Thread(
        target=activity.run, kwargs={"install_signal_handlers": False}, daemon=True
    )
    recorder.start()
    warm_up, before, during = (keap.order(LINES) for _ in range(3))
    events = TopicReader(keap.settings, Topic.CANONICAL_EVENTS)
    log = ActivityLog(client)
    try:
        _hook_to_invoice_seconds(hooks, events, quiet.hook_token, warm_up)  # the group joins
        baseline = _hook_to_invoice_seconds(hooks, events, quiet.hook_token, before)
        flood_started = time.perf_counter()
        for delivery in range(deliveries):
            first = FIRST_FLOOD_ID + delivery * ids
            _hook(hooks, flooder.hook_token, *range(first, first + ids))
        posted = time.perf_counter() - flood_started
        flooded = _hook_to_invoice_seconds(hooks, events, quiet.hook_token, during)
        read_by_then = not_found_count(log, flooder.id)
        # The flood was really read from Keap (and found unknown) while the invoice went through.
        eventually(lambda: not_found_count(log, flooder.id) >= 1, "the flood's not-found results")
    finally:
        events.close()
        activity.stop()
        recorder.join(timeout=10)
    return FloodOutcome(
        posted,
        baseline,
        flooded,
        read_by_then,
        log.page(quiet.id, limit=500).entries,
        log.page(flooder.id, limit=500).entries,
    )


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


def _processing_on(settings):
    return replace(settings, sync=replace(settings.sync, processing_enabled=True))
