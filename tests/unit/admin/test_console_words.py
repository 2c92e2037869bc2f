"""How the console words what it shows: quantities, codes with names, a tenant's partition,
and activity found by any part of a number."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from kafka.partitioner.default import DefaultPartitioner

from admin.console.blueprint import quantity_words
from admin.console.sync_pages import CodeNames
from admin.consumer_lag import tenant_partition
from admin.invoice_preview import indented_json, plain_quantity
from admin.reference_data import labelled
from admin.stores.activity import _contains
from invoicesync.events import SyncAction, SyncResult


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (Decimal("2"), "2"),
        (Decimal("2.0"), "2"),
        (Decimal("2.0000"), "2"),
        (Decimal("1.50"), "1.5"),
        (Decimal("0.3333"), "0.3333"),
        (Decimal("10"), "10"),
        (2.0, "2"),
        (Decimal("-1.0"), "-1"),
    ],
)
def test_a_quantity_is_written_without_trailing_zeros(value, words):
    assert quantity_words(value) == words
    if isinstance(value, Decimal):
        assert plain_quantity(value) == words


def test_codes_are_shown_with_their_names():
    names = CodeNames(
        {
            "accounts": {"200": labelled("200", "Sales")},
            "tax_rates": {"OUTPUT": labelled("OUTPUT", "Tax on Sales")},
            "items": {"7": "Taxable Product"},
        }
    )

    assert names.account("200") == "200 — Sales"
    assert names.tax("OUTPUT") == "OUTPUT — Tax on Sales"
    assert names.item("7") == "7 — Taxable Product"
    assert names.account("999") == "999"  # not in the ledger's list: the code alone
    assert CodeNames().tax("NONE") == "NONE"


class _Cluster:
    def __init__(self, partitions: int) -> None:
        self._partitions = set(range(partitions))

    def topics(self):
        return {"t"}

    def partitions_for_topic(self, topic):
        return self._partitions

    def available_partitions_for_topic(self, topic):
        return self._partitions


@pytest.mark.parametrize("tenant_id", ["t1", "acme", "0b7c2f0e-1d8e-4a57", "x" * 40])
@pytest.mark.parametrize("partitions", [1, 3, 12])
def test_a_tenants_partition_is_the_one_the_producer_picks(tenant_id, partitions):
    key = tenant_id.encode()
    picked = DefaultPartitioner().partition("t", key, key, None, None, _Cluster(partitions))

    assert tenant_partition(tenant_id, partitions) == picked


def _result(**fields) -> SyncResult:
    base = {
        "destination": "xero",
        "object_type": "invoice",
        "keap_id": "1234",
        "action": SyncAction.CREATED,
        "recorded_at": datetime(2026, 1, 1, tzinfo=UTC),
        "invoice_number": "K-1234",
        "destination_id": "abc-DEF",
        "reason": "Xero's total 10.00 differs",
    }
    return SyncResult(**(base | fields))


@pytest.mark.parametrize("text", ["123", "1234", "k-12", "K-1234", "def", "TOTAL 10", " 23 "])
def test_activity_is_found_by_any_part_of_its_numbers_or_reason(text):
    assert _contains(_result(), text)


@pytest.mark.parametrize("text", ["999", "K-9", "qbo"])
def test_activity_search_does_not_match_what_is_not_there(text):
    assert not _contains(_result(), text)


def test_activity_search_copes_with_missing_fields():
    assert _contains(_result(invoice_number=None, destination_id=None), "12")


def test_the_previewed_document_keeps_every_amounts_digits():
    document = {"LineItems": [{"LineAmount": Decimal("25.00"), "Quantity": Decimal("2")}]}

    shown = indented_json(document)

    assert '"LineAmount": 25.00' in shown and '"Quantity": 2' in shown
    assert json.loads(shown, parse_float=Decimal) == document
