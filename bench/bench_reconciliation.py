"""Reconciliation of a 1,000-invoice period: the API calls it takes (Keap and Xero, counted by
our client sessions) and the share of Xero's per-organisation limits they use.

1,000 Keap orders are placed in the Keap stand-in and their invoices written to the Xero
stand-in in batches of 50, as the writer does; then one reconciliation job reads the period.
The Xero stand-in's limits stay on while the job runs (60 calls a minute, 5,000 a day).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import date

import requests

from admin.admin_services import AdminServices
from admin.reconciliation import ReconciliationJobs, report_of, run_reconciliation
from bench.figures import Figure
from bench.infrastructure import running_infrastructure
from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.domain.canonical import Destination
from invoicesync.domain.canonical_to_xero import (
    xero_contact_from_canonical,
    xero_invoice_from_canonical,
)
from invoicesync.domain.keap_to_canonical import canonical_invoice_from_keap_order
from invoicesync.domain.reconciliation import Group
from invoicesync.domain.tenant_settings import TenantSettings, XeroSettings
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import ensure_topics
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import TokenStore
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from tests.infrastructure import kafka_settings
from tests.integration.stores.local_servers import serving
from tests.integration.transform.keap_stand_in import keap_stand_in
from tests.integration.xero_writer.xero_tenants import connect_xero_tenant

INVOICES = 1_000
ORDER_TIME = "2026-02-10T10:00:00Z"
PERIOD = (date(2026, 2, 1), date(2026, 2, 28))
BATCH = 50
XERO_CALLS_PER_MINUTE = 60
SEEDING_LIMITS = {
    "spike_arrest_per_second": 100_000,
    "throttle_per_minute": 100_000,
    "tenant_throttle_per_minute": 100_000,
    "quota_per_day": 1_000_000,
}
# Keap's documented limits (reference/keap.md §6): about 25/s and 1,500/min per client,
# 150,000/day, 10,000/min per tenant.
KEAP_LIMITS = {
    "spike_arrest_per_second": 25,
    "throttle_per_minute": 1_500,
    "tenant_throttle_per_minute": 10_000,
    "quota_per_day": 150_000,
}
XERO_CALLS_PER_DAY = 5_000


def run() -> list[Figure]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with running_infrastructure() as (kafka, redis_url), serving(create_xero_app()) as xero:
        base = Settings(
            **kafka_settings(kafka),
            redis_url=redis_url,
            topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
            xero_api_base=xero,
            xero_token_url=f"{xero}/connect/token",
            xero_client_id="invoicesync-demo",
            xero_client_secret="demo-secret",
            token_encryption_key=generate_key(),
        )
        ensure_topics(base)
        client = redis_from_settings(base)
        with keap_stand_in(base, client) as keap:
            settings = keap.settings
            tokens = TokenStore(client, TokenCipher(settings.token_encryption_key))
            tenants = TenantStore(client)
            tenant_id = connect_xero_tenant(
                xero, tenants, tokens, f"Reconcile {uuid.uuid4().hex[:6]}", XeroSettings()
            )
            keap.connect(tenant_id)
            # Seeding 1,000 orders is the bench's own load, not the job's: Keap's limits go up
            # for it and come back before the job runs.
            keap.control("PUT", "/_sandbox/keap/limits", SEEDING_LIMITS)
            orders = _place_orders(keap, tenant_id)
            _write_to_xero(settings, client, tenants, tenant_id, keap, orders)
            services = AdminServices(settings, client, Publisher(settings), tokens)
            job = ReconciliationJobs(client).start(tenant_id, *PERIOD)
            started = time.perf_counter()
            job = run_reconciliation(services, job)
            elapsed = time.perf_counter() - started
            report = report_of(services, job)
            matched = len(report.in_group(Group.MATCHED))
            services.publisher.close()
    if job.status != "done":
        raise RuntimeError(f"the reconciliation stopped: {job.error}")
    return [
        Figure("reconciliation_1000_invoices_api_calls", job.api_calls, "calls"),
        Figure("reconciliation_1000_invoices_keap_calls", job.keap_calls, "calls"),
        Figure("reconciliation_1000_invoices_xero_calls", job.ledger_calls, "calls"),
        Figure(
            "reconciliation_1000_invoices_xero_minute_limit_used",
            100 * job.ledger_calls / XERO_CALLS_PER_MINUTE,
            "%",
        ),
        Figure(
            "reconciliation_1000_invoices_xero_day_limit_used",
            100 * job.ledger_calls / XERO_CALLS_PER_DAY,
            "%",
        ),
        Figure("reconciliation_1000_invoices_matched", matched, "invoices"),
        Figure("reconciliation_1000_invoices_wall_time", elapsed, "s"),
    ]


def _place_orders(keap, tenant_id: str) -> list:
    """Placed through Keap's API, read back as the client types them (one page of 1,000)."""
    widget = keap.product("Widget", 1250, sku="WID-1")
    line = {"product_id": widget, "quantity": 2, "item_type": "PRODUCT", "price_per_unit": "12.50"}
    started = time.monotonic()
    for number in range(INVOICES):
        keap.order([line], order_time=ORDER_TIME)  # two calls: a contact and the order
        # Paced under the stand-in's 1,500 calls a minute, which holds for seeding too.
        time.sleep(max(0.0, started + number * 2 / 20 - time.monotonic()))
    return list(keap.client().list_orders(tenant_id, page_size=INVOICES).items)


def _write_to_xero(settings, client, tenants, tenant_id, keap, orders) -> None:
    """The invoices as the writer would post them, 50 to a request."""
    xero = xero_client_from_settings(settings, client)
    tenant_settings = TenantSettings(Destination.XERO, xero=XeroSettings())
    tenants.save_settings(tenant_id, tenant_settings)
    invoices = [canonical_invoice_from_keap_order(o, tenant_settings, tenant_id) for o in orders]
    contact = invoices[0].contact
    [made] = xero.create_contacts(
        tenant_id, [xero_contact_from_canonical(contact, contact.name)], uuid.uuid4().hex
    )
    contact_id = made.element["ContactID"]
    for start in range(0, len(invoices), BATCH):
        elements = [
            xero_invoice_from_canonical(invoice, tenant_settings.xero, contact_id, {})
            for invoice in invoices[start : start + BATCH]
        ]
        results = xero.create_invoices(tenant_id, elements, uuid.uuid4().hex)
        assert all(result.ok for result in results), [r.messages for r in results if not r.ok]
    requests.put(f"{keap.base_url}/_sandbox/keap/limits", json=KEAP_LIMITS, timeout=5)
