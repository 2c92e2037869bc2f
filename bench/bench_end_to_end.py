"""Hook-to-ledger latency on the local stack: from the moment a Keap order is created in the
sandbox (its hook delay set to 0) to the invoice being readable in the Xero or QBO sandbox,
one invoice at a time, beside the hourly poll of the product this one replaces."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
import requests

from bench.figures import Figure, percentile
from bench.infrastructure import running_infrastructure
from tests.e2e.journey import Tenant, onboard, retire
from tests.e2e.ledgers import QboLedger, XeroLedger
from tests.integration.transform.keap_stand_in import KeapStandIn
from tests.stack import Stack, running_stack

SAMPLES = 20
WARM_UP = 2
READ_EVERY_SECONDS = 0.01
GIVE_UP_SECONDS = 30.0
OLD_POLL_INTERVAL_SECONDS = 3600
ONE_LINE = [{"name": "Consulting", "quantity": 1, "item_type": "OTHER", "price_per_unit": "40.00"}]


def _latency(keap: KeapStandIn, contact_id: str, readable: Callable[[str], bool]) -> float:
    """Seconds from the order's creation in Keap to its invoice being readable."""
    body = {
        "contact_id": contact_id,
        "order_time": "2026-03-02T10:00:00Z",
        "order_title": "Latency sample",
        "order_type": "OFFLINE",
        "order_items": ONE_LINE,
    }
    started = time.perf_counter()
    number = str(keap.api("POST", "/orders", body)["invoice_id"])
    while not readable(number):
        if time.perf_counter() - started > GIVE_UP_SECONDS:
            raise TimeoutError(f"invoice {number} never reached the ledger")
        time.sleep(READ_EVERY_SECONDS)
    return time.perf_counter() - started


def _measure(stack: Stack, keap: KeapStandIn, destination: str, tenant: Tenant) -> list[Figure]:
    if destination == "xero":
        xero = XeroLedger(stack.xero_url, tenant.ledger_id)
        readable = lambda number: bool(xero.invoices(number))  # noqa: E731
    else:
        qbo = QboLedger(stack.qbo_url, tenant.ledger_id)
        readable = lambda number: bool(qbo.invoices(number))  # noqa: E731
    # One returning customer: the contact is found once, then each invoice is one Xero call,
    # and the organisation's 60 calls a minute are not what is being measured.
    contact_id = keap.contact("Lena", "Latency")
    for _ in range(WARM_UP):
        _latency(keap, contact_id, readable)
    samples = [_latency(keap, contact_id, readable) * 1000 for _ in range(SAMPLES)]
    return [
        Figure(f"e2e_hook_to_{destination}_p50", percentile(samples, 0.50), "ms"),
        Figure(f"e2e_hook_to_{destination}_p99", percentile(samples, 0.99), "ms"),
    ]


def _qbo_items(stack: Stack) -> Callable[[str], dict]:
    def pick(realm_id: str) -> dict:
        items = QboLedger(stack.qbo_url, realm_id).items_by_name()
        return {
            "taxable_item_id": items["Taxable Product"],
            "non_taxable_item_id": items["Non-taxable Product"],
        }

    return pick


def _hourly_poll_baseline() -> list[Figure]:
    """Computed, not measured: an order waits for the next hourly poll, uniformly in [0, 1 h)."""
    return [
        Figure("e2e_hourly_poll_baseline_p50_computed", OLD_POLL_INTERVAL_SECONDS * 0.50, "s"),
        Figure("e2e_hourly_poll_baseline_p99_computed", OLD_POLL_INTERVAL_SECONDS * 0.99, "s"),
    ]


def run() -> list[Figure]:
    figures: list[Figure] = []
    with running_infrastructure() as (kafka, redis_url), running_stack(kafka, redis_url) as stack:
        client = redis.Redis.from_url(stack.settings.redis_url)
        keap = KeapStandIn(stack.keap_url, stack.settings, client)
        keap.control("PUT", "/_sandbox/faults", {"webhook_delay_seconds": 0})
        for url in (stack.xero_url, stack.qbo_url):
            requests.put(f"{url}/_sandbox/limits", json={"enabled": False}, timeout=5)
        for destination, ledger_settings in (("xero", {}), ("qbo", _qbo_items(stack))):
            tenant = onboard(stack, destination, ledger_settings=ledger_settings)
            try:
                figures += _measure(stack, keap, destination, tenant)
            finally:
                retire(stack, tenant)
        client.close()
    return figures + _hourly_poll_baseline()


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
