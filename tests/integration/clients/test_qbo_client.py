"""The QBO client against the QBO sandbox over real HTTP: exact amounts, minorversion,
requestid replay, 6140 adoption, 5010 retry, customers and 6240, cached reference data,
batch faults, the XML 429 and CDC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from invoicesync.clients.json_body import dump_json
from invoicesync.clients.qbo import (
    BatchItem,
    QboClient,
    QboFaulted,
    qbo_client_from_settings,
    quoted,
)
from invoicesync.domain.canonical import Contact, LineKind
from invoicesync.domain.canonical_to_qbo import qbo_invoice_from_canonical, qbo_request_id
from invoicesync.domain.tenant_settings import QboSettings
from invoicesync.errors import RateLimited
from invoicesync.stores.redis_connection import redis_from_settings
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox, qbo_sandbox_without_limits
from tests.unit.domain.canonical_builders import charge, invoice, product


@pytest.fixture
def sandbox(redis_server):
    with qbo_sandbox_without_limits(redis_server.address) as running:
        yield running


@pytest.fixture
def client(sandbox: QboSandbox) -> QboClient:
    return qbo_client_from_settings(sandbox.settings, redis_from_settings(sandbox.settings))


def item_settings(client: QboClient, tenant: str) -> QboSettings:
    by_name = {item.name: item.id for item in client.items(tenant)}
    return QboSettings(
        taxable_item_id=by_name["Taxable Product"],
        non_taxable_item_id=by_name["Non-taxable Product"],
        shipping_item_id=by_name["Shipping"],
    )


def invoice_body(client: QboClient, tenant: str, number: str = "1042") -> dict:
    canonical = invoice(
        product("19.99", "3", taxable=True),
        product("0.3333333", "3", description="Thirds", line_amount="1.00"),
        charge(LineKind.SHIPPING, "7.50"),
        charge(LineKind.DISCOUNT, "-5.00"),
        charge(LineKind.TAX, "4.80"),
        invoice_number=number,
    )
    customer = client.customer_for(tenant, Contact("c1", "Ada Lovelace", "ada@example.com"))
    return qbo_invoice_from_canonical(
        canonical, item_settings(client, tenant), customer, {}, us_company=True
    )


def test_decimal_amounts_are_written_with_exactly_their_digits():
    assert dump_json({"UnitPrice": Decimal("0.3333333"), "Qty": Decimal("3")}) == (
        '{"UnitPrice":0.3333333,"Qty":3}'
    )


def test_query_literals_escape_quotes_with_a_backslash():
    assert quoted("O'Brien") == "'O\\'Brien'"


def test_an_invoice_lands_with_keaps_total_and_every_call_names_minorversion_75(
    sandbox, client, unique_name
):
    sandbox.connect(unique_name)
    body = invoice_body(client, unique_name)
    created = client.create_invoice(unique_name, body, qbo_request_id(unique_name, "1042", "h1"))
    assert created.total == Decimal("68.27")  # 59.97 + 1.00 + 7.50 - 5.00 + 4.80 tax
    assert created.balance == created.total
    logged = requests.get(f"{sandbox.base_url}/_sandbox/requests", timeout=5).json()
    api = [entry for entry in logged if entry["path"].startswith("/v3/")]
    assert api and all("minorversion=75" in entry["query"] for entry in api)


def test_the_same_requestid_replays_instead_of_creating_again(sandbox, client, unique_name):
    realm = sandbox.connect(unique_name)
    body = invoice_body(client, unique_name)
    rid = qbo_request_id(unique_name, "1042", "h1")
    first = client.create_invoice(unique_name, body, rid)
    second = client.create_invoice(unique_name, body, rid)
    assert first.id == second.id and not second.adopted
    found = sandbox.query(realm, unique_name, "select * from Invoice where DocNumber = '1042'")
    assert len(found) == 1


def test_a_taken_doc_number_adopts_the_existing_invoice(sandbox, client, unique_name):
    realm = sandbox.connect(unique_name)
    body = invoice_body(client, unique_name)
    first = client.create_invoice(unique_name, body, qbo_request_id(unique_name, "1042", "h1"))
    again = client.create_invoice(unique_name, body, qbo_request_id(unique_name, "1042", "h2"))
    assert again.adopted and again.id == first.id
    assert len(sandbox.query(realm, unique_name, "select * from Invoice")) == 1


def test_a_sparse_update_after_someone_else_edited_retries_with_the_new_sync_token(
    sandbox, client, unique_name
):
    sandbox.connect(unique_name)
    created = client.create_invoice(
        unique_name, invoice_body(client, unique_name), qbo_request_id(unique_name, "1", "h")
    )
    real_read = client.read_invoice
    reads = []

    def read_then_edit_elsewhere(tenant_id: str, invoice_id: str):
        current = real_read(tenant_id, invoice_id)
        if not reads:  # someone edits between our read and our write: 5010
            client._post(  # another user's edit lands first
                tenant_id,
                "invoice",
                {
                    "Id": invoice_id,
                    "SyncToken": current.sync_token,
                    "sparse": True,
                    "PrivateNote": "edited in QBO",
                },
                request_id="other-user-edit",
            )
        reads.append(current)
        return current

    client.read_invoice = read_then_edit_elsewhere  # type: ignore[method-assign]
    updated = client.update_invoice(unique_name, created.id, {"DueDate": "2026-07-01"}, "update-1")
    assert len(reads) == 2
    assert int(updated.sync_token) == int(created.sync_token) + 2


def test_a_customer_is_found_by_email_before_one_is_created(sandbox, client, unique_name):
    realm = sandbox.connect(unique_name)
    first = client.customer_for(unique_name, Contact("c1", "Ada Lovelace", "ada@example.com"))
    client._cache.delete(client._key(unique_name, "customer:c1"))
    renamed = Contact("c1", "Ada King", "ada@example.com")
    assert client.customer_for(unique_name, renamed) == first
    assert len(sandbox.query(realm, unique_name, "select * from Customer")) == 1


def test_a_name_held_by_someone_else_gets_a_disambiguated_customer(sandbox, client, unique_name):
    realm = sandbox.connect(unique_name)
    client._post(unique_name, "vendor", {"DisplayName": "Grace Hopper"}, request_id="vendor-grace")
    customer_id = client.customer_for(unique_name, Contact("77", "Grace Hopper", "g@example.com"))
    rows = sandbox.query(realm, unique_name, f"select * from Customer where Id = '{customer_id}'")
    assert rows[0]["DisplayName"] == "Grace Hopper (Keap 77)"


def test_reference_data_is_read_once_then_served_from_the_cache(sandbox, client, unique_name):
    sandbox.connect(unique_name)
    client.forget_reference_data(unique_name)
    before = sandbox.api_calls()
    assert client.company(unique_name).us_tax_model
    items = client.items(unique_name)
    client.company(unique_name)
    client.items(unique_name)
    assert sandbox.api_calls() - before == 2
    assert {item.sku for item in items} >= {"COACH-60", "BOOK-01"}


def test_a_non_us_company_is_recognised_from_its_company_info(sandbox, client, unique_name):
    sandbox.connect(unique_name, country="GB")
    assert not client.company(unique_name).us_tax_model


def test_a_batch_answers_each_item_and_a_retry_of_the_same_items_is_a_replay(
    sandbox, client, unique_name
):
    realm = sandbox.connect(unique_name)
    good = [invoice_body(client, unique_name, number=f"B{n}") for n in range(3)]
    bad = {**good[0], "DocNumber": "B9", "CustomerRef": {"value": "999999"}}
    items = [
        BatchItem("Invoice", body, qbo_request_id(unique_name, body["DocNumber"], "h"))
        for body in [*good, bad]
    ]
    before = sandbox.api_calls()
    results = client.batch(unique_name, items)
    assert sandbox.api_calls() - before == 1
    assert [r.fault is None for r in results] == [True, True, True, False]
    assert results[3].fault is not None and results[3].fault.code == "610"
    again = client.batch(unique_name, items)
    assert [r.entity and r.entity["Id"] for r in again] == [
        r.entity and r.entity["Id"] for r in results
    ]
    assert len(sandbox.query(realm, unique_name, "select * from Invoice")) == 3


def test_a_rejected_write_carries_qbos_error_code(sandbox, client, unique_name):
    sandbox.connect(unique_name)
    body = invoice_body(client, unique_name)
    body["Line"][0]["Amount"] = Decimal("1.23")  # not Qty × UnitPrice
    with pytest.raises(QboFaulted) as raised:
        client.create_invoice(unique_name, body, "bad-amount")
    assert raised.value.code == "6070"


def test_throttling_raises_rate_limited_for_a_minute(sandbox, client, unique_name):
    sandbox.connect(unique_name)
    requests.put(f"{sandbox.base_url}/_sandbox/faults", json={"storm_429_seconds": 5}, timeout=5)
    with pytest.raises(RateLimited) as raised:
        client.query(unique_name, "select * from Invoice")
    assert raised.value.retry_after == 60


def test_change_data_capture_lists_invoices_written_since_a_time(sandbox, client, unique_name):
    sandbox.connect(unique_name)
    since = datetime.now(UTC) - timedelta(minutes=5)
    created = client.create_invoice(
        unique_name, invoice_body(client, unique_name), qbo_request_id(unique_name, "1", "h")
    )
    changed = client.changes_since(unique_name, ["Invoice", "Payment"], since)
    assert [row["Id"] for row in changed["Invoice"]] == [created.id]
    assert changed["Payment"] == []


def test_a_payment_links_to_its_invoice_and_is_found_by_its_reference(sandbox, client, unique_name):
    realm = sandbox.connect(unique_name)
    created = client.create_invoice(
        unique_name, invoice_body(client, unique_name), qbo_request_id(unique_name, "1", "h")
    )
    body = {
        "CustomerRef": {"value": created.customer_id},
        "TotalAmt": Decimal("10.27"),
        "PaymentRefNum": "pay-1",
        "Line": [
            {"Amount": Decimal("10.27"), "LinkedTxn": [{"TxnId": created.id, "TxnType": "Invoice"}]}
        ],
    }
    payment = client.create_payment(unique_name, body, "pay-1-request")
    assert client.find_payment_by_ref(unique_name, "pay-1") == payment
    assert client.read_invoice(unique_name, created.id).balance == Decimal("58.00")
    linked = sandbox.query(realm, unique_name, f"select * from Payment where Id = '{payment.id}'")
    assert linked[0]["Line"][0]["LinkedTxn"] == [{"TxnId": created.id, "TxnType": "Invoice"}]


def test_a_period_is_read_in_pages_with_the_payments_applied_to_it(sandbox, client, unique_name):
    sandbox.connect(unique_name)
    created = []
    for number, txn_date in (("R1", "2026-06-01"), ("R2", "2026-06-30"), ("R3", "2026-07-01")):
        body = invoice_body(client, unique_name, number) | {"TxnDate": txn_date}
        request_id = qbo_request_id(unique_name, number, "h")
        created.append(client.create_invoice(unique_name, body, request_id))
    payment = client.create_payment(
        unique_name,
        {
            "CustomerRef": {"value": created[0].customer_id},
            "TotalAmt": Decimal("10.27"),
            "Line": [
                {
                    "Amount": Decimal("10.27"),
                    "LinkedTxn": [{"TxnId": created[0].id, "TxnType": "Invoice"}],
                }
            ],
        },
        "pay-r1",
    )
    june = (date(2026, 6, 1), date(2026, 6, 30))
    first = client.invoices_dated_page(unique_name, *june, start_position=1, max_results=1)
    second = client.invoices_dated_page(unique_name, *june, start_position=2, max_results=1)
    third = client.invoices_dated_page(unique_name, *june, start_position=3, max_results=1)
    assert [row["DocNumber"] for row in first + second] == ["R1", "R2"]
    assert third == []
    assert first[0]["LinkedTxn"] == [{"TxnId": payment.id, "TxnType": "Payment"}]
    [paid] = client.payments_by_ids(unique_name, [payment.id])
    assert paid["Line"][0]["Amount"] == Decimal("10.27")
    assert client.missing_invoices(unique_name, [created[1].id, "999999"]) == {"999999"}
    with pytest.raises(ValueError):
        client.invoices_dated_page(unique_name, *june, start_position=1, max_results=1001)


def test_a_burst_of_reads_keeps_to_ten_requests_a_second_per_realm(sandbox, client, unique_name):
    """Intuit counts 10 requests/second per realm and app; the stand-in throttles the 11th."""
    sandbox.connect(unique_name)
    sandbox.set_limits(True)

    for _ in range(25):
        client.query(unique_name, "select * from Invoice")  # a 429 would raise RateLimited

    log = requests.get(f"{sandbox.base_url}/_sandbox/requests", timeout=5).json()
    statuses = [entry["status"] for entry in log if "/query" in entry["path"]]
    assert len(statuses) == 25 and set(statuses) == {200}
