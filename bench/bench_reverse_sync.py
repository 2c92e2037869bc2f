"""Ledger payment to Keap payment on the local stack: from a payment entered in the Xero or QBO
sandbox to ReverseSync's payment being readable on the Keap order, with the ledger webhooks
registered and with none (the payment poll alone, its interval shortened to
tests.stack.REVERSE_SYNC_POLL_SECONDS and printed as `reverse_sync_poll_interval`).

Without webhooks each payment is entered at a random point of the poll's cycle, so the figures
are the poll's real spread (about half an interval at p50, the whole at p99). With webhooks the
Xero sandbox sends the INVOICE UPDATE a payment may cause, which Xero does not document
(shared/reference/xero.md §8, §11): with real Xero the no-webhook figures apply. The sandboxes
deliver webhooks after their default 1 s delay."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal

import redis
import requests

from bench.figures import Figure, percentile
from bench.infrastructure import running_infrastructure
from invoicesync.domain.sync_rules import is_reverse_sync_note
from invoicesync_sandbox.developer_portal import (
    register_ledger_webhooks,
    unregister_ledger_webhooks,
)
from tests.e2e.destinations import ledger_of, tenant_of
from tests.e2e.journey import retire
from tests.e2e.ledgers import QboLedger, XeroLedger, keap_figures, landed
from tests.integration.transform.keap_stand_in import KeapStandIn
from tests.stack import REVERSE_SYNC_POLL_SECONDS, Stack, running_stack
from tests.waiting import eventually

SAMPLES_WITH_WEBHOOKS = 20
SAMPLES_WITHOUT_WEBHOOKS = 8
READ_EVERY_SECONDS = 0.1  # Keap counts these reads against the client's minute budget
GIVE_UP_SECONDS = 60.0
ONE_LINE = [{"name": "Retainer", "quantity": 1, "item_type": "OTHER", "price_per_unit": "500.00"}]
REVERSE_SYNC = {"reverse_sync_enabled": True, "reverse_sync_start_date": "2026-01-01"}


def _reverse_payments(keap: KeapStandIn, order_id: str) -> int:
    rows = keap.api("GET", f"/orders/{order_id}/payments")["invoice_order_payments"]
    return sum(1 for row in rows if is_reverse_sync_note(row.get("note")))


def _latency(keap: KeapStandIn, order_id: str, pay: Callable[[], object]) -> float:
    """Seconds from the payment's entry in the ledger to its arrival on the Keap order."""
    before = _reverse_payments(keap, order_id)
    started = time.perf_counter()
    pay()
    while _reverse_payments(keap, order_id) <= before:
        if time.perf_counter() - started > GIVE_UP_SECONDS:
            raise TimeoutError(f"a ledger payment never reached Keap order {order_id}")
        time.sleep(READ_EVERY_SECONDS)
    return time.perf_counter() - started


def _figures(name: str, samples: list[float]) -> list[Figure]:
    return [
        Figure(f"{name}_p50", percentile(samples, 0.50), "ms"),
        Figure(f"{name}_p99", percentile(samples, 0.99), "ms"),
    ]


def _measure(stack: Stack, keap: KeapStandIn, destination: str) -> list[Figure]:
    targets = stack.ledger_webhooks
    unregister_ledger_webhooks(targets)
    tenant = tenant_of(stack, destination, sync=REVERSE_SYNC)
    try:
        ledger: XeroLedger | QboLedger = ledger_of(stack, tenant)
        placed = keap.order(ONE_LINE)
        number = keap_figures(placed).invoice_number
        invoice = eventually(lambda: landed(ledger, number), f"invoice {number}")

        def pay() -> str:
            return ledger.record_payment(invoice.id, Decimal("1.00"))

        polled = []
        for _ in range(SAMPLES_WITHOUT_WEBHOOKS):
            time.sleep(random.uniform(0, REVERSE_SYNC_POLL_SECONDS))  # a random phase of the poll
            polled.append(_latency(keap, placed["id"], pay) * 1000)
        register_ledger_webhooks(targets, xero_invoice_events_on_payment=destination == "xero")
        hooked = [_latency(keap, placed["id"], pay) * 1000 for _ in range(SAMPLES_WITH_WEBHOOKS)]
    finally:
        retire(stack, tenant)
        register_ledger_webhooks(targets)
    return _figures(f"reverse_sync_{destination}_no_webhook", polled) + _figures(
        f"reverse_sync_{destination}_webhook", hooked
    )


def run() -> list[Figure]:
    figures = [Figure("reverse_sync_poll_interval", REVERSE_SYNC_POLL_SECONDS, "s")]
    with running_infrastructure() as (kafka, redis_url), running_stack(kafka, redis_url) as stack:
        client = redis.Redis.from_url(stack.settings.redis_url)
        keap = KeapStandIn(stack.keap_url, stack.settings, client)
        keap.control("PUT", "/_sandbox/faults", {"webhook_delay_seconds": 0})
        for url in (stack.xero_url, stack.qbo_url):
            requests.put(f"{url}/_sandbox/limits", json={"enabled": False}, timeout=5)
        for destination in ("xero", "qbo"):
            figures += _measure(stack, keap, destination)
        client.close()
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
