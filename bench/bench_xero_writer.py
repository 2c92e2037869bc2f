"""The Xero writer: API calls per invoice in a 5,000-invoice backfill, the wall time Xero's limits
imply for it, and canonical-event-to-Xero latency; each beside a naive one-call-per-step writer.

Calls are counted by the Xero sandbox. Its limits (and our own limiter) are switched off so the
backfill runs in seconds; the wall time is computed from the calls at Xero's real 60 calls per
minute per organisation (5 in flight, 5,000 a day), not waited out. Latency is measured from
publishing a canonical event to the invoice being readable in the sandbox (transform excluded).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import requests

from bench.figures import Figure, percentile
from bench.infrastructure import running_with_xero
from invoicesync.clients.json_body import DecimalJsonSession
from invoicesync.clients.oauth import OAuthClient
from invoicesync.clients.provider_http import ProviderHttp
from invoicesync.clients.xero import XeroClient, _XeroTenantIds
from invoicesync.crypto import TokenCipher
from invoicesync.domain.canonical import Contact
from invoicesync.domain.canonical_to_xero import (
    xero_contact_from_canonical,
    xero_idempotency_key,
    xero_invoice_from_canonical,
)
from invoicesync.events import Envelope, EventType, Topic, envelope_for, payload_of
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.publisher import Publisher
from invoicesync.settings import Settings
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.limiter import Limiter
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import TokenStore
from tests.integration.xero_writer.xero_tenants import connect_xero_tenant
from tests.unit.domain.canonical_builders import invoice, product
from xero_writer.handler import xero_event_writer

BACKFILL = 5_000
CONTACTS = 250  # customers come back: 20 invoices each
NAIVE_SAMPLE = 300
LATENCY_SAMPLES = 30
XERO_CALLS_PER_MINUTE = 60
XERO_CALLS_PER_DAY = 5_000
BATCH = 50


def run() -> list[Figure]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per sandbox call
    with running_with_xero() as (settings, url):
        requests.put(f"{url}/_sandbox/limits", json={"enabled": False}, timeout=5)
        bench = _Bench(settings, url)
        figures = bench.backfill()
        figures += bench.latency()
        bench.close()
    return figures


class _Bench:
    def __init__(self, settings: Settings, sandbox_url: str) -> None:
        self.settings = settings
        self.url = sandbox_url
        self.redis = redis_from_settings(settings)
        self.tenants = TenantStore(self.redis)
        self.tokens = TokenStore(self.redis, TokenCipher(settings.token_encryption_key))
        self.publisher = Publisher(settings)
        self.client = self._client(cached=True)
        self.uncached = self._client(cached=False)

    def close(self) -> None:
        self.publisher.close()

    # -- backfill: calls per invoice -------------------------------------------------------

    def backfill(self) -> list[Figure]:
        tenant_id = self._tenant("backfill")
        writer = self._writer()
        events = [_event(tenant_id, f"b{n}", n % CONTACTS) for n in range(BACKFILL)]
        before = self._calls()
        started = time.perf_counter()
        for start in range(0, BACKFILL, BATCH):  # the loop's runs of max_run=50
            writer.handle(events[start : start + BATCH])
        elapsed = time.perf_counter() - started
        batched = (self._calls() - before) / BACKFILL

        naive_tenant = self._tenant("naive")
        naive = _NaiveWriter(self.uncached, self.tenants)
        sample = [_event(naive_tenant, f"n{n}", n % CONTACTS) for n in range(NAIVE_SAMPLE)]
        before = self._calls()
        for envelope in sample:
            naive.handle(envelope)
        naive_per_invoice = (self._calls() - before) / NAIVE_SAMPLE
        return [
            Figure("xero_backfill_api_calls_per_invoice", batched, "calls"),
            Figure("xero_backfill_api_calls_per_invoice_naive", naive_per_invoice, "calls"),
            Figure("xero_backfill_5000_wall_time_at_xero_limits", _minutes(batched), "min"),
            Figure(
                "xero_backfill_5000_wall_time_at_xero_limits_naive",
                _minutes(naive_per_invoice),
                "min",
            ),
            Figure("xero_backfill_5000_sandbox_unthrottled_time", elapsed, "s"),
        ]

    # -- latency: event to invoice in Xero -------------------------------------------------

    def latency(self) -> list[Figure]:
        tenant_id = self._tenant("latency")
        writer = self._writer()
        batched = self._latencies(tenant_id, "lat", writer.handle, max_run=BATCH)
        naive_tenant = self._tenant("latency-naive")
        naive = one_at_a_time(_NaiveWriter(self.uncached, self.tenants).handle)
        baseline = self._latencies(naive_tenant, "nlat", naive, max_run=1)
        return [
            Figure("xero_event_to_invoice_p50", percentile(batched, 0.5) * 1000, "ms"),
            Figure("xero_event_to_invoice_p99", percentile(batched, 0.99) * 1000, "ms"),
            Figure("xero_event_to_invoice_p50_naive", percentile(baseline, 0.5) * 1000, "ms"),
            Figure("xero_event_to_invoice_p99_naive", percentile(baseline, 0.99) * 1000, "ms"),
        ]

    def _latencies(self, tenant_id: str, prefix: str, handler, *, max_run: int) -> list[float]:
        options = LoopOptions(
            group_id=f"bench-{prefix}",
            topics=(Topic.CANONICAL_EVENTS,),
            max_run=max_run,
            poll_timeout_ms=20,
        )
        loop = ConsumerLoop(self.settings, options, handler, self.publisher)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            loop.poll_once()  # join the group before timing
        samples = []
        for number in range(LATENCY_SAMPLES):
            keap_id = f"{prefix}{number}"
            started = time.perf_counter()
            self.publisher.publish(Topic.CANONICAL_EVENTS, _event(tenant_id, keap_id, number))
            while not self._in_sandbox(tenant_id, f"K-{keap_id}"):
                loop.poll_once()
            samples.append(time.perf_counter() - started)
        loop.close()
        return samples

    # -- wiring ----------------------------------------------------------------------------

    def _writer(self):
        return xero_event_writer(
            self.client, IdMap(self.redis, self.publisher, self.settings), self.tenants, self.redis
        )

    def _client(self, *, cached: bool) -> XeroClient:
        endpoints = self.settings.endpoints("xero")
        oauth = OAuthClient(endpoints, "xero", requests.Session())
        http = ProviderHttp(
            "xero",
            DecimalJsonSession(),
            AccessTokens(self.tokens, lambda _p: oauth, self.redis),
            Limiter(self.redis),
            rules_for=lambda _tenant_id: (),  # limits relaxed: the wall time is computed
            scope_key_for=lambda tenant_id: f"xero-bench:{tenant_id}",
        )
        cache = self.redis if cached else None
        return XeroClient(
            http, endpoints, _XeroTenantIds(self.tokens), cache=cache, invoice_creation_pace=None
        )

    def _tenant(self, name: str) -> str:
        return connect_xero_tenant(self.url, self.tenants, self.tokens, name)

    def _calls(self) -> int:
        counters = requests.get(f"{self.url}/_sandbox/counters", timeout=5).json()
        return sum(count for name, count in counters.items() if "/api.xro/" in name)

    def _in_sandbox(self, tenant_id: str, number: str) -> bool:
        headers = {
            "Authorization": f"Bearer {self.tokens.load('xero', tenant_id).access_token}",
            "xero-tenant-id": self.tokens.load("xero", tenant_id).external_id,
            "Accept": "application/json",
        }
        # Counted by the sandbox too, but latency runs after the call counts are taken.
        reply = requests.get(
            f"{self.url}/api.xro/2.0/Invoices/{number}", headers=headers, timeout=5
        )
        return reply.status_code == 200


class _NaiveWriter:
    """The baseline: one call per step, per invoice: find the contact, create it, look the
    invoice up, read the tax rates, create the invoice."""

    def __init__(self, client: XeroClient, tenants: TenantStore) -> None:
        self._client = client
        self._tenants = tenants

    def handle(self, envelope: Envelope) -> list:
        canonical = payload_of(envelope)
        tenant_id = envelope.tenant_id
        settings = self._tenants.settings(tenant_id).xero
        contact = canonical.contact
        rows = self._client.contacts_where(tenant_id, f'ContactNumber=="{contact.keap_id}"')
        if rows:
            contact_id = rows[0]["ContactID"]
        else:
            element = xero_contact_from_canonical(contact, contact.name)
            key = xero_idempotency_key(tenant_id, contact.keap_id, "", operation="contact")
            contact_id = self._client.create_contacts(tenant_id, [element], key)[0].element[
                "ContactID"
            ]
        if self._client.invoices_by_numbers(tenant_id, [canonical.invoice_number]):
            return []
        self._client.tax_rates(tenant_id)
        body = xero_invoice_from_canonical(canonical, settings, contact_id, {})
        key = xero_idempotency_key(tenant_id, canonical.keap_invoice_id, canonical.content_hash)
        self._client.create_invoices(tenant_id, [body], key)
        return []


def _event(tenant_id: str, keap_id: str, customer: int) -> Envelope:
    canonical = replace(
        invoice(product("19.99", "3", taxable=False), product("5.00")),
        tenant_id=tenant_id,
        keap_invoice_id=keap_id,
        invoice_number=f"K-{keap_id}",
        contact=Contact(f"c{customer}", f"Customer {customer}", f"c{customer}@example.com"),
        content_hash=f"h{keap_id}",
    )
    return envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)


def _minutes(calls_per_invoice: float) -> float:
    """Minutes Xero's per-organisation limits need for the backfill's calls (day cap included)."""
    calls = calls_per_invoice * BACKFILL
    days_waited = int(calls // XERO_CALLS_PER_DAY) * 24 * 60 if calls > XERO_CALLS_PER_DAY else 0
    return days_waited + calls / XERO_CALLS_PER_MINUTE
