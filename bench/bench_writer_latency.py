"""A xero-writer against a Xero that answers in 150 ms, as the real one takes hundreds of
milliseconds: 50 tenants x 4 invoices published at once (each tenant's first invoice also
finds and creates its contact and reads its tax rates), written with the tenants of a poll
handled one at a time and 8 at a time (INVOICESYNC_CONCURRENT_TENANTS), each run on tenants
of its own, Xero's limits on."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

import requests

from bench.bench_many_tenants import connect_tenants, drain, invoice_event
from bench.figures import Figure
from bench.infrastructure import running_with_xero
from invoicesync.events import Topic
from invoicesync.kafka.publisher import Outgoing

TENANTS = 50
INVOICES_EACH = 4
XERO_LATENCY_MS = 150
AT_ONCE = (1, 8)


def run() -> list[Figure]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with running_with_xero() as (settings, xero_url):
        figures = []
        for at_once in AT_ONCE:
            tenant_ids = connect_tenants(settings, xero_url, f"Slow {at_once}", TENANTS)
            events = [
                Outgoing(Topic.CANONICAL_EVENTS, invoice_event(tenant_id, n, number))
                for number in range(INVOICES_EACH)
                for n, tenant_id in enumerate(tenant_ids)
            ]
            faults = f"{xero_url}/_sandbox/faults"
            requests.put(faults, json={"latency_ms": XERO_LATENCY_MS}, timeout=5)
            try:
                done, _ = drain(
                    replace(settings, concurrent_tenants=at_once),
                    events,
                    f"bench-slow-xero-{uuid.uuid4().hex[:6]}",
                )
            finally:
                requests.put(faults, json={"latency_ms": 0}, timeout=5)
            figures.append(
                Figure(
                    f"writer_invoices_per_s_{XERO_LATENCY_MS}ms_xero_{at_once}_at_once",
                    len(events) / max(done),
                    "invoices/s",
                )
            )
        return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
