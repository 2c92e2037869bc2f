"""QBO writer: API calls per invoice for a 5,000-invoice backfill and event-to-QBO latency,
beside a naive writer (look the number up, then create, one invoice per call) in the same run.

The backfill is spread over ten QBO companies of 500 invoices each: QBO allows one company
40 batch requests a minute (1,200 invoices), so one company's 5,000 would take over four
minutes of QBO's own quota, while the calls per invoice are the same either way.
"""

from __future__ import annotations

import logging
import time
import uuid

from bench.figures import Figure, percentile
from bench.infrastructure import running_infrastructure
from invoicesync.clients.qbo import QboClient, qbo_client_from_settings
from invoicesync.domain.canonical_to_qbo import qbo_request_id
from invoicesync.events import Envelope, Topic, payload_of
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.kafka.topics import ensure_topics
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings
from qbo_writer.main import build_loop
from qbo_writer.qbo_ledger import QboLedgerWriter
from tests.infrastructure import kafka_settings
from tests.integration.qbo_writer.corpus import (
    corpus_invoice,
    events_for,
    point_at_items,
    qbo_tenant,
)
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox, qbo_sandbox

COMPANIES = 10
INVOICES_PER_COMPANY = 500
NAIVE_INVOICES = 60  # at about 6 calls each, within one company's 500 a minute
LATENCY_SAMPLES = 40


def run() -> list[Figure]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with running_infrastructure() as (kafka, redis_url):
        settings = Settings(
            **kafka_settings(kafka),
            redis_url=redis_url,
            topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
        )
        ensure_topics(settings)
        with qbo_sandbox(settings) as sandbox:
            sandbox.set_limits(False)
            backfill = _backfill(sandbox)
            naive_calls = _naive_calls(sandbox)
            latency = _latency(sandbox, naive=False)
            naive_latency = _latency(sandbox, naive=True)
    return [
        Figure("qbo_backfill_api_calls_per_invoice", backfill, "calls"),
        Figure("qbo_naive_api_calls_per_invoice", naive_calls, "calls"),
        Figure("qbo_event_to_invoice_p50", percentile(latency, 0.5) * 1000, "ms"),
        Figure("qbo_event_to_invoice_p99", percentile(latency, 0.99) * 1000, "ms"),
        Figure("qbo_naive_event_to_invoice_p50", percentile(naive_latency, 0.5) * 1000, "ms"),
        Figure("qbo_naive_event_to_invoice_p99", percentile(naive_latency, 0.99) * 1000, "ms"),
    ]


def _tenant(sandbox: QboSandbox):
    client = redis_from_settings(sandbox.settings)
    tenant_id, _ = qbo_tenant(client)
    realm = sandbox.connect(tenant_id)
    qbo = qbo_client_from_settings(sandbox.settings, client)
    return tenant_id, realm, point_at_items(client, qbo, tenant_id), qbo


def _backfill(sandbox: QboSandbox) -> float:
    """Every QBO call the writer makes, per invoice, from a cold start (caches, customers)."""
    publisher = Publisher(sandbox.settings)
    tenants = [_tenant(sandbox) for _ in range(COMPANIES)]
    for tenant_id, _, settings, _ in tenants:
        outgoing = []
        for number in range(INVOICES_PER_COMPANY):
            invoice, _ = corpus_invoice("widgets", tenant_id, settings, number + 1)
            outgoing += [
                Outgoing(Topic.CANONICAL_EVENTS, e) for e in events_for(tenant_id, invoice, [])
            ]
        publisher.publish_all(outgoing)
    before = sandbox.api_calls()
    loop = build_loop(sandbox.settings, group_id="bench-qbo-backfill")
    handled, total = 0, COMPANIES * INVOICES_PER_COMPANY
    deadline = time.monotonic() + 150
    while handled < total and time.monotonic() < deadline:
        handled += loop.poll_once()
    loop.close()
    publisher.close()
    if handled < total:
        raise RuntimeError(f"backfill handled {handled} of {total} in time")
    return (sandbox.api_calls() - before) / total


def _naive_create(qbo: QboClient, ledger: QboLedgerWriter, tenant_id: str, settings, invoice):
    """What a straightforward writer does: reference data and customer read each time, a
    DocNumber lookup, then one POST per invoice."""
    qbo.forget_reference_data(tenant_id)
    qbo._cache.delete(qbo._key(tenant_id, f"customer:{invoice.contact.keap_id}"))
    if qbo.find_invoice_by_doc_number(tenant_id, invoice.invoice_number) is None:
        body = ledger._prepare(tenant_id, invoice, settings).body
        qbo.create_invoice(
            tenant_id, body, qbo_request_id(tenant_id, invoice.keap_invoice_id, "naive")
        )


def _naive_calls(sandbox: QboSandbox) -> float:
    tenant_id, _, settings, qbo = _tenant(sandbox)
    ledger = QboLedgerWriter(qbo)
    before = sandbox.api_calls()
    for number in range(NAIVE_INVOICES):
        invoice, _ = corpus_invoice("widgets", tenant_id, settings, number + 1)
        _naive_create(qbo, ledger, tenant_id, settings, invoice)
    return (sandbox.api_calls() - before) / NAIVE_INVOICES


def _latency(sandbox: QboSandbox, *, naive: bool) -> list[float]:
    """Publish one invoice event at a time; time until the loop has written it to QBO."""
    tenant_id, _, settings, qbo = _tenant(sandbox)
    publisher = Publisher(sandbox.settings)
    sent_at: dict[str, float] = {}
    samples: list[float] = []
    group = f"bench-qbo-latency-{'naive' if naive else 'writer'}-{tenant_id}"
    if naive:
        ledger = QboLedgerWriter(qbo)

        def naive_handler(envelope: Envelope):
            if envelope.tenant_id == tenant_id:
                invoice = payload_of(envelope)
                _naive_create(qbo, ledger, tenant_id, settings, invoice)
            return []

        loop = ConsumerLoop(
            sandbox.settings,
            LoopOptions(group_id=group, topics=(Topic.CANONICAL_EVENTS,)),
            one_at_a_time(naive_handler),
            Publisher(sandbox.settings),
        )
    else:
        loop = build_loop(sandbox.settings, group_id=group)
    _drain(loop)
    for number in range(LATENCY_SAMPLES):
        invoice, _ = corpus_invoice("widgets", tenant_id, settings, 9000 + number)
        sent_at[invoice.keap_invoice_id] = time.time()
        publisher.publish_all(
            [Outgoing(Topic.CANONICAL_EVENTS, e) for e in events_for(tenant_id, invoice, [])]
        )
        while loop.poll_once() == 0:  # handled = written to QBO (the loop commits after)
            pass
        samples.append(time.time() - sent_at[invoice.keap_invoice_id])
    loop.close()
    publisher.close()
    return samples


def _drain(loop: ConsumerLoop) -> None:
    """Join the group and work through what earlier phases left on the topic."""
    idle = 0
    while idle < 3:
        idle = idle + 1 if loop.poll_once() == 0 else 0
