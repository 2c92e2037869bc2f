"""The content hash: stable across re-reads, sensitive to any real edit."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from invoicesync.domain.canonical import Destination
from invoicesync.domain.content_hash import (
    content_hash,
    request_body_digest,
    with_content_hash,
)
from invoicesync.domain.keap_to_canonical import canonical_invoice_from_keap_order
from invoicesync.domain.tenant_settings import TenantSettings
from tests.unit.domain import keap_corpus as corpus


def _invoice():
    order = corpus.load(corpus.WIDGET_ORDER)
    return canonical_invoice_from_keap_order(order, TenantSettings(Destination.XERO), "t-1")


def test_the_hash_ignores_the_hash_field_itself():
    invoice = _invoice()

    assert content_hash(dataclasses.replace(invoice, content_hash="")) == invoice.content_hash
    assert with_content_hash(invoice) == invoice


def test_equal_amounts_written_differently_hash_the_same():
    invoice = _invoice()
    totals = dataclasses.replace(invoice.totals, tax=Decimal("8.250"))

    assert content_hash(dataclasses.replace(invoice, totals=totals)) == invoice.content_hash


def test_any_edit_changes_the_hash():
    invoice = _invoice()
    line = dataclasses.replace(invoice.lines[0], description="Premium Widget (blue)")
    edits = [
        dataclasses.replace(invoice, lines=(line, *invoice.lines[1:])),
        dataclasses.replace(invoice, due_date=invoice.due_date.replace(day=1)),
        dataclasses.replace(invoice, totals=dataclasses.replace(invoice.totals, paid=Decimal(1))),
        dataclasses.replace(invoice, contact=dataclasses.replace(invoice.contact, email=None)),
        dataclasses.replace(invoice, lines=invoice.lines[::-1]),
    ]

    hashes = {content_hash(edit) for edit in edits}

    assert invoice.content_hash not in hashes
    assert len(hashes) == len(edits)


def test_a_request_sent_with_other_settings_gets_another_digest_for_its_idempotency_key():
    line = {"AccountCode": "260", "LineAmount": Decimal("10.0"), "Date": date(2026, 3, 2)}
    same = {"AccountCode": "260", "LineAmount": Decimal("10.00"), "Date": date(2026, 3, 2)}
    fixed = {**line, "AccountCode": "200"}

    assert request_body_digest({"Invoices": [line]}) == request_body_digest({"Invoices": [same]})
    assert request_body_digest({"Invoices": [line]}) != request_body_digest({"Invoices": [fixed]})
    assert request_body_digest(line, fixed) != request_body_digest(fixed, line)
