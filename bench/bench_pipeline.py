"""Keap order to Xero invoice through the whole local stack (one process per service, the
stand-ins' limits lifted): throughput while a burst of orders flows, and each order's
hook-to-ledger latency measured during that burst."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import redis
import requests

from bench.figures import Figure, percentile
from bench.infrastructure import running_infrastructure
from tests.e2e.journey import onboard, retire
from tests.e2e.ledgers import XeroLedger
from tests.integration.transform.keap_stand_in import KeapStandIn
from tests.stack import running_stack

ORDERS = 300
CREATORS = 4
READ_EVERY_SECONDS = 0.05
GIVE_UP_SECONDS = 600.0
ONE_LINE = [{"name": "Consulting", "quantity": 1, "item_type": "OTHER", "price_per_unit": "40.00"}]
NO_LIMITS = {"throttle_per_minute": 1_000_000, "quota_per_day": 100_000_000}


def run() -> list[Figure]:
    with running_infrastructure() as (kafka, redis_url), running_stack(kafka, redis_url) as stack:
        client = redis.Redis.from_url(stack.settings.redis_url)
        keap = KeapStandIn(stack.keap_url, stack.settings, client)
        keap.control("PUT", "/_sandbox/faults", {"webhook_delay_seconds": 0})
        keap.control("PUT", "/_sandbox/limits", {**NO_LIMITS, "tenant_throttle_per_minute": 10**6})
        requests.put(f"{stack.xero_url}/_sandbox/limits", json={"enabled": False}, timeout=5)
        tenant = onboard(stack, "xero", ledger_settings={})
        try:
            figures = _burst(keap, XeroLedger(stack.xero_url, tenant.ledger_id))
        finally:
            retire(stack, tenant)
            client.close()
    return figures


def _burst(keap: KeapStandIn, xero: XeroLedger) -> list[Figure]:
    contact_id = keap.contact("Pia", "Pipeline")
    created: dict[str, float] = {}
    arrived: dict[str, float] = {}
    lock = threading.Lock()

    def create(number: int) -> None:
        body = {
            "contact_id": contact_id,
            "order_time": "2026-03-02T10:00:00Z",
            "order_title": f"Pipeline {number}",
            "order_type": "OFFLINE",
            "order_items": ONE_LINE,
        }
        sent = time.perf_counter()
        invoice = str(keap.api("POST", "/orders", body)["invoice_id"])
        with lock:
            created[invoice] = sent

    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            with lock:
                waiting = [n for n in created if n not in arrived]
            if waiting:
                found = {row.number for row in xero.invoices(*waiting)}
                now = time.perf_counter()
                with lock:
                    for number in found:
                        arrived.setdefault(number, now)
            time.sleep(READ_EVERY_SECONDS)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(CREATORS) as pool:
            list(pool.map(create, range(ORDERS)))
        while len(arrived) < ORDERS:
            if time.perf_counter() - started > GIVE_UP_SECONDS:
                raise TimeoutError(f"{ORDERS - len(arrived)} invoices never reached Xero")
            time.sleep(0.1)
    finally:
        stop.set()
        watcher.join()
    elapsed = max(arrived.values()) - started
    creating = max(created.values()) - started
    latencies = [(arrived[n] - created[n]) * 1000 for n in created]
    return [
        Figure("pipeline_invoices_per_s_1_replica", ORDERS / elapsed, "invoices/s"),
        Figure("pipeline_order_creation_per_s", ORDERS / creating, "orders/s"),
        Figure("pipeline_hook_to_ledger_under_load_p50", percentile(latencies, 0.5), "ms"),
        Figure("pipeline_hook_to_ledger_under_load_p99", percentile(latencies, 0.99), "ms"),
    ]


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
