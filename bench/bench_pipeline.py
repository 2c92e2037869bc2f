"""Keap order to Xero invoice through the whole local stack (one process per service, the
stand-ins' limits lifted): throughput while a burst of orders flows and each order's
hook-to-ledger latency during it; the latency while 50 invoices a second flow for 100
tenants, each with a Keap account of its own (a steady stream, an order every 20 ms) and all
sharing one (each order an invoice for all 100 at once, every 2 s); the same flow for 10
busy tenants (5 invoices a second each, more than Xero's 60 calls a minute would carry one
by one) with the Xero calls it took; and the throughput with 1, 2 and 4 replicas of
transform and xero-writer (the same 2 cores shared by every process, the stand-ins and the
load). An invoice counts as in the ledger when its writer reports it written on
sync.results."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import redis
import requests

from bench.figures import Figure, percentile
from bench.infrastructure import running_infrastructure
from bench.written_invoices import WrittenInvoices
from tests.e2e.journey import onboard, retire
from tests.integration.transform.keap_stand_in import KeapStandIn
from tests.stack import Stack, running_stack

ORDERS = 300
CREATORS = 4
GIVE_UP_SECONDS = 600.0
ONE_LINE = [{"name": "Consulting", "quantity": 1, "item_type": "OTHER", "price_per_unit": "40.00"}]
NO_LIMITS = {
    "spike_arrest_per_second": 1_000_000,
    "throttle_per_minute": 1_000_000,
    "quota_per_day": 100_000_000,
}
# Our limiter keeps Keap's per-app limits too: lifted with the stand-in's, as for an app Keap
# granted more. Each tenant's share (8 Keap calls a second) stays: it is our own fairness rule.
KEAP_APP_LIFTED = {
    "INVOICESYNC_KEAP_APP_CALLS_PER_SECOND": "1000000",
    "INVOICESYNC_KEAP_APP_CALLS_PER_MINUTE": "1000000",
    "INVOICESYNC_KEAP_APP_CALLS_PER_DAY": "100000000",
}
# Replicas of transform and xero-writer; each run spreads its orders over tenants enough to
# keep every replica's partitions busy (one tenant's events stay on one partition, in order).
REPLICA_COUNTS = (1, 2, 4)
SCALING_TENANTS = 24
SCALING_PARTITIONS = 12
SCALING_ORDERS = 20  # per run: 24 tenants each write every order, 480 ledger invoices
# Latency under load: 100 tenants, 50 invoices a second in all.
LOADED_TENANTS = 100
LOADED_INVOICES_PER_S = 50
LOADED_SECONDS = 20
# The same 50 invoices a second for 10 tenants, 5 each: more than Xero's 60 calls a minute
# per organisation would carry one invoice per call.
BUSY_TENANTS = 10


def run() -> list[Figure]:
    with running_infrastructure() as (kafka, redis_url):
        with running_stack(kafka, redis_url, extra_env=KEAP_APP_LIFTED) as stack:
            # The loaded run first: a tenant's first poll walks the orders already in Keap, and
            # 100 tenants walking the burst's 300 would be a backlog of the bench's own making.
            figures = _with_tenants(stack, LOADED_TENANTS, _paced, own_keap_accounts=True)
            figures += _with_tenants(
                stack, LOADED_TENANTS, lambda *args: _paced(*args, "_one_keap_account")
            )
            figures += _with_tenants(stack, BUSY_TENANTS, _busy, own_keap_accounts=True)
            figures += _with_tenants(stack, 1, _burst)
        for replicas in REPLICA_COUNTS:
            counts = {"transform": replicas, "xero-writer": replicas}
            with running_stack(
                kafka,
                redis_url,
                extra_env=KEAP_APP_LIFTED,
                replicas=counts,
                topic_partitions=SCALING_PARTITIONS,
            ) as stack:
                figures += _with_tenants(
                    stack, SCALING_TENANTS, lambda *args, r=replicas: _scaling(*args, r)
                )
    return figures


def _with_tenants(
    stack: Stack, count: int, measure, *, own_keap_accounts: bool = False
) -> list[Figure]:
    """`measure(stack, placements)` with `count` Xero tenants onboarded, limits lifted. The
    tenants share one Keap account (one placement: each order reaches all of them), or each
    has its own, as separate Keap customers (a placement per tenant)."""
    client = redis.Redis.from_url(stack.settings.redis_url)
    keap = KeapStandIn(stack.keap_url, stack.settings, client)
    keap.control("PUT", "/_sandbox/faults", {"webhook_delay_seconds": 0})
    keap.control("PUT", "/_sandbox/keap/limits", {**NO_LIMITS, "tenant_throttle_per_minute": 10**6})
    requests.put(f"{stack.xero_url}/_sandbox/limits", json={"enabled": False}, timeout=5)
    run_id = uuid.uuid4().hex[:8]
    # One at a time: the Xero stand-in's consent names the next organisation for all comers.
    tenants = [
        onboard(
            stack,
            "xero",
            ledger_settings={},
            keap_app_id=f"bench-{run_id}-{number}" if own_keap_accounts else None,
        )
        for number in range(count)
    ]
    try:
        if own_keap_accounts:
            placements = [
                _Placement(replace(keap, seed_app_id=str(tenant.keap_app_id)), [tenant.id])
                for tenant in tenants
            ]
        else:
            placements = [_Placement(keap, [tenant.id for tenant in tenants])]
        return measure(stack, placements)
    finally:
        for tenant in tenants:
            retire(stack, tenant)
        client.close()


@dataclass(frozen=True)
class _Placement:
    """Where an order is placed, and the tenants whose ledgers get its invoice."""

    keap: KeapStandIn
    tenant_ids: list[str]


def _burst(stack: Stack, placements: list[_Placement]) -> list[Figure]:
    """ORDERS orders as fast as CREATORS threads place them, for one tenant."""
    run = _orders_through(stack, placements, ORDERS)
    return [
        Figure("pipeline_one_tenant_invoices_per_s", run.invoices_per_s, "invoices/s"),
        Figure("pipeline_order_creation_per_s", ORDERS / run.creating_seconds, "orders/s"),
        Figure("pipeline_hook_to_ledger_under_load_p50", percentile(run.latencies_ms, 0.5), "ms"),
        Figure("pipeline_hook_to_ledger_under_load_p99", percentile(run.latencies_ms, 0.99), "ms"),
    ]


def _paced(stack: Stack, placements: list[_Placement], name_suffix: str = "") -> list[Figure]:
    """LOADED_INVOICES_PER_S across the tenants for LOADED_SECONDS, an order at a time. With
    one shared Keap account each order reaches every tenant at once, so 100 tenants get their
    invoices as 100 at once every 2 s, harsher than a steady stream; with an account each,
    the orders go round the tenants one every 20 ms."""
    tenants = {tenant for placement in placements for tenant in placement.tenant_ids}
    per_order = len(placements[0].tenant_ids)
    orders = LOADED_INVOICES_PER_S * LOADED_SECONDS // per_order
    interval = per_order / LOADED_INVOICES_PER_S
    run = _orders_through(stack, placements, orders, every_seconds=interval)
    name = f"pipeline_hook_to_ledger_{LOADED_INVOICES_PER_S}_per_s_{len(tenants)}_tenants"
    name += name_suffix
    return [
        Figure(f"{name}_p50", percentile(run.latencies_ms, 0.5), "ms"),
        Figure(f"{name}_p99", percentile(run.latencies_ms, 0.99), "ms"),
        Figure(f"{name}_after_first_p99", percentile(run.later_latencies_ms, 0.99), "ms"),
        Figure(f"{name}_invoices", len(run.latencies_ms), "invoices"),
    ]


def _busy(stack: Stack, placements: list[_Placement]) -> list[Figure]:
    before = _xero_calls(stack)
    figures = _paced(stack, placements)
    invoices = figures[-1].value
    calls = (_xero_calls(stack) - before) / invoices
    return [
        *figures,
        Figure(f"pipeline_xero_calls_per_invoice_{len(placements)}_tenants", calls, "calls"),
    ]


def _xero_calls(stack: Stack) -> int:
    counters = requests.get(f"{stack.xero_url}/_sandbox/counters", timeout=5).json()
    return sum(count for name, count in counters.items() if "/api.xro/" in name)


def _scaling(stack: Stack, placements: list[_Placement], replicas: int) -> list[Figure]:
    run = _orders_through(stack, placements, SCALING_ORDERS)
    tenants = len(placements[0].tenant_ids)
    suffix = "replica" if replicas == 1 else "replicas"
    return [
        Figure(
            f"pipeline_invoices_per_s_{replicas}_{suffix}_{tenants}_tenants",
            run.invoices_per_s,
            "invoices/s",
        )
    ]


@dataclass(frozen=True)
class _Run:
    invoices_per_s: float
    creating_seconds: float
    latencies_ms: list[float]
    # Without each tenant's first invoice, which also finds or creates its contact and reads
    # its organisation's tax rates: three more Xero calls.
    later_latencies_ms: list[float]


def _orders_through(
    stack: Stack,
    placements: list[_Placement],
    orders: int,
    *,
    every_seconds: float = 0.0,
) -> _Run:
    """Place `orders` orders, going round the placements (paced `every_seconds` apart, else by
    CREATORS threads at once), and wait until each order's tenants all have its invoice."""
    contact_ids = [placement.keap.contact("Pia", "Pipeline") for placement in placements]
    created: dict[tuple[str, str], float] = {}
    lock = threading.Lock()
    watcher = WrittenInvoices(stack.settings)
    watcher.wait_assigned()
    watcher.start()

    def create(number: int) -> None:
        at = number % len(placements)
        body = {
            "contact_id": contact_ids[at],
            "order_time": "2026-03-02T10:00:00Z",
            "order_title": f"Pipeline {number}",
            "order_type": "OFFLINE",
            "order_items": ONE_LINE,
        }
        sent = time.perf_counter()
        invoice = str(placements[at].keap.api("POST", "/orders", body)["invoice_id"])
        with lock:
            for tenant in placements[at].tenant_ids:
                created[(tenant, invoice)] = sent

    started = time.perf_counter()
    try:
        if every_seconds:
            for number in range(orders):
                time.sleep(max(0.0, started + number * every_seconds - time.perf_counter()))
                create(number)
        else:
            with ThreadPoolExecutor(CREATORS) as pool:
                list(pool.map(create, range(orders)))
        creating = time.perf_counter() - started
        while not created.keys() <= watcher.times().keys():
            if time.perf_counter() - started > GIVE_UP_SECONDS:
                missing = len(created.keys() - watcher.times().keys())
                raise TimeoutError(f"{missing} invoices never reached Xero")
            time.sleep(0.1)
    finally:
        watcher.stop()
    written = watcher.times()
    elapsed = max(written[key] for key in created) - started
    latencies = [(written[key] - sent) * 1000 for key, sent in created.items()]
    seen: set[str] = set()
    later = []
    for (tenant, _), latency in zip(created, latencies, strict=True):
        if tenant in seen:
            later.append(latency)
        seen.add(tenant)
    return _Run(len(created) / elapsed, creating, latencies, later)


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
