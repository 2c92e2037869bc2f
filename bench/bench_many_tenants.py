"""Many tenants at once: 1,000 tenants x 10 invoices, each tenant its own organisation of the
Xero stand-in with Xero's limits on (60 calls a minute and 5 in flight per organisation, and
our own limiter in front), all the canonical events published together, one xero-writer
draining them. Each tenant's completion (its tenth invoice written, as sync.results reports
it) is timed from the publish: the slowest tenant beside the median shows whether any tenant
starves behind the others' backlog."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace

from bench.figures import Figure, median, percentile
from bench.infrastructure import running_with_xero
from bench.written_invoices import WrittenInvoices
from invoicesync.crypto import TokenCipher
from invoicesync.domain.canonical import Contact
from invoicesync.events import EventType, Topic, envelope_for
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import TokenStore
from tests.integration.xero_writer.xero_tenants import connect_xero_tenant
from tests.unit.domain.canonical_builders import invoice, product
from xero_writer.main import build_loop

TENANTS = 1_000
INVOICES_EACH = 10
GIVE_UP_SECONDS = 900.0


def run() -> list[Figure]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per sandbox call
    with running_with_xero() as (settings, xero_url):
        return _many_tenants(settings, xero_url)


def _many_tenants(settings: Settings, xero_url: str) -> list[Figure]:
    started = time.perf_counter()
    tenant_ids = connect_tenants(settings, xero_url, "Many", TENANTS)
    setup_seconds = time.perf_counter() - started
    events = [
        Outgoing(Topic.CANONICAL_EVENTS, invoice_event(tenant_id, n, number))
        for number in range(INVOICES_EACH)
        for n, tenant_id in enumerate(tenant_ids)
    ]
    done, failed = drain(settings, events, f"bench-many-{uuid.uuid4().hex[:6]}")
    total = max(done)
    return [
        Figure("many_tenants_setup_s", setup_seconds, "s"),
        Figure("many_tenants_invoices_per_s", TENANTS * INVOICES_EACH / total, "invoices/s"),
        Figure("many_tenants_all_done_s", total, "s"),
        Figure("many_tenants_completion_median_s", median(done), "s"),
        Figure("many_tenants_completion_p99_s", percentile(done, 0.99), "s"),
        Figure("many_tenants_completion_slowest_s", total, "s"),
        Figure("many_tenants_failed_results", failed, "results"),
    ]


def connect_tenants(settings: Settings, xero_url: str, name: str, count: int) -> list[str]:
    """`count` tenants, each connected to an organisation of its own."""
    client = redis_from_settings(settings)
    tenants, tokens = (
        TenantStore(client),
        TokenStore(client, TokenCipher(settings.token_encryption_key)),
    )
    try:
        return [connect_xero_tenant(xero_url, tenants, tokens, f"{name} {n}") for n in range(count)]
    finally:
        client.close()


def drain(settings: Settings, events: list[Outgoing], group_id: str) -> tuple[list[float], int]:
    """Publish the events at once and run one xero-writer until every invoice is written: each
    tenant's completion time (seconds from the publish) and the failed results."""
    results = WrittenInvoices(settings)
    results.wait_assigned()
    results.start()
    publisher = Publisher(settings)
    loop = build_loop(settings, group_id=group_id)
    published_at = time.perf_counter()
    for start in range(0, len(events), 500):
        publisher.publish_all(events[start : start + 500])
    try:
        while results.count() < len(events):
            if time.perf_counter() - published_at > GIVE_UP_SECONDS:
                raise TimeoutError(f"{len(events) - results.count()} invoices never written")
            loop.poll_once()
    finally:
        loop.close()
        results.stop()
        publisher.close()
    completed: dict[str, float] = {}
    for (tenant_id, _), at in results.times().items():
        completed[tenant_id] = max(completed.get(tenant_id, 0.0), at - published_at)
    return list(completed.values()), results.failed


def invoice_event(tenant_id: str, customer: int, number: int):
    keap_id = f"{customer}-{number}"
    canonical = replace(
        invoice(product("19.99", "3", taxable=False), product("5.00")),
        tenant_id=tenant_id,
        keap_invoice_id=keap_id,
        invoice_number=f"M-{keap_id}",
        contact=Contact(f"c{customer}", f"Customer {customer}", f"c{customer}@example.com"),
        content_hash=f"h{keap_id}",
    )
    return envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
