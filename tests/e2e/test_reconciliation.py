"""The reconciliation report through the running stack (issue 19): orders synced to Xero (and,
in the twin below, to QBO), the ledger then changed behind the system's back and one order
deleted in Keap; the report puts each in its group with the fields that differ, and re-sync
makes it all-matched."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.destinations import XERO_SETTINGS, qbo_items_of_the_company
from tests.e2e.journey import Tenant, onboard_from_here, retire
from tests.e2e.keap_orders import newest_invoice_id, pay, payment_ids, taxed_order
from tests.e2e.ledgers import QboLedger, XeroLedger, keap_figures, landed
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

# A day no other test orders on: the period holds this test's orders only (the Keap sandbox
# is shared by the whole run).
ORDER_TIME = "2025-11-14T10:00:00Z"
PERIOD = {"from": "2025-11-14", "to": "2025-11-14"}
QBO_ORDER_TIME = "2025-11-13T10:00:00Z"
QBO_PERIOD = {"from": "2025-11-13", "to": "2025-11-13"}


@pytest.fixture
def tenant(stack, keap, stack_redis):
    running = onboard_from_here(
        stack, newest_invoice_id(keap), stack_redis, "xero", ledger_settings=XERO_SETTINGS
    )
    yield running
    retire(stack, running)


@pytest.fixture
def qbo_tenant(stack, keap, stack_redis):
    running = onboard_from_here(
        stack,
        newest_invoice_id(keap),
        stack_redis,
        "qbo",
        ledger_settings=lambda realm_id: qbo_items_of_the_company(stack.qbo_url, realm_id),
    )
    yield running
    retire(stack, running)


def report(tenant: Tenant, period: dict = PERIOD) -> dict:
    started = tenant.api.ok("POST", f"/tenants/{tenant.id}/reconciliations", period)
    path = f"/tenants/{tenant.id}/reconciliations/{started['id']}"
    return eventually(
        lambda: (body := tenant.api.ok("GET", path))["status"] == "done" and body,
        f"reconciliation {started['id']} done",
    )


def rows_by(body: dict) -> dict[tuple[str, str], dict]:
    """(kind, Keap id) → row; a ledger-only invoice by its number, payment by its ledger id."""

    def key(row: dict) -> tuple[str, str]:
        if row["keap_id"]:
            return row["kind"], row["keap_id"]
        return row["kind"], row["ledger_id"] if row["kind"] == "payment" else row["number"]

    return {key(row): row for row in body["rows"]}


def five_synced_orders(keap, tenant: Tenant, ledger, order_time: str):
    """Orders A-E placed on the test's day, E paid 32.00, each in the ledger and E's payment
    written: (orders by name, their invoice numbers, their ledger invoices, E's payment id)."""
    placed = {name: keap.order(taxed_order(keap), order_time=order_time) for name in "ABCDE"}
    pay(keap, placed["E"]["id"], Decimal("32.00"))
    numbers = {name: keap_figures(order).invoice_number for name, order in placed.items()}
    invoices = {
        name: eventually(lambda n=number: landed(ledger, n), f"invoice {number} in the ledger")
        for name, number in numbers.items()
    }
    [paid_e] = payment_ids(keap, placed["E"]["id"])
    eventually(
        lambda: "created" in tenant.activity_outcomes(paid_e, "payment"), "E's payment written"
    )
    return placed, numbers, invoices, paid_e


def test_the_report_groups_what_changed_behind_the_systems_back_and_resync_repairs_it(
    stack, keap, tenant
):
    ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
    placed, numbers, invoices, paid_e = five_synced_orders(keap, tenant, ledger, ORDER_TIME)

    # Behind the system's back: a total edited and an invoice voided (Xero's delete for an
    # AUTHORISED invoice) in Xero, a payment entered in Xero, an order deleted in Keap.
    lines_a = ledger.line_with_unit_amount(invoices["A"].id, Decimal("20.00"))
    ledger.edit_invoice(invoices["A"].id, {"LineItems": lines_a})
    ledger.edit_invoice(invoices["B"].id, {"Status": "VOIDED"})
    stray_payment = ledger.record_payment(invoices["C"].id, Decimal("10.00"))
    keap.api("DELETE", f"/orders/{placed['D']['id']}")

    body = report(tenant)
    rows = rows_by(body)
    invoice_id = {name: str(order["invoice_id"]) for name, order in placed.items()}
    edited = rows[("invoice", invoice_id["A"])]
    assert edited["group"] == "different"
    changed = {d["field"]: (d["keap"], d["ledger"]) for d in edited["differences"]}
    assert changed["total"][0] == "32.00" and changed["total"][1] != "32.00"
    assert set(changed) >= {"total", "amount_due", "lines"}
    voided = rows[("invoice", invoice_id["B"])]
    assert voided["group"] == "missing_in_ledger"
    assert voided["last_word"]["outcome"] == "created"  # the log's last word: it was written
    paid_in_xero = rows[("invoice", invoice_id["C"])]
    assert paid_in_xero["group"] == "different"
    assert [d["field"] for d in paid_in_xero["differences"]] == ["amount_due"]
    assert rows[("payment", stray_payment)]["group"] == "ledger_only"
    assert rows[("payment", stray_payment)]["ledger_amount"] == "10.00"
    deleted = rows[("invoice", numbers["D"])]
    assert deleted["group"] == "ledger_only"
    assert deleted["keap_order_id"] == str(placed["D"]["id"])
    assert rows[("invoice", invoice_id["E"])]["group"] == "matched"
    assert rows[("payment", paid_e)]["group"] == "matched"
    assert len(body["rows"]) == 7
    usd = {t["group"]: t for t in body["totals"] if t["currency"] == "USD"}
    assert usd["matched"]["count"] == 2 and usd["matched"]["keap_amount"] == "64.00"
    assert usd["different"]["count"] == 2 and usd["ledger_only"]["count"] == 2
    assert body["api_calls"]["ledger"] == 1  # one page of up to 1,000 invoices
    assert body["api_calls"]["keap"] >= 1

    csv_text = tenant.api.call("GET", f"/tenants/{tenant.id}/reconciliations/{body['id']}/csv").text
    assert csv_text.splitlines()[0].startswith("group,kind,number")
    assert len(csv_text.splitlines()) == 8

    resynced = tenant.api.ok("POST", f"/tenants/{tenant.id}/reconciliations/{body['id']}/resync")
    assert sorted(resynced["orders"]) == sorted(str(placed[n]["id"]) for n in "ABC")
    # A voided Xero invoice keeps its number: B is written anew under a reissue number.
    assert resynced["reissued"] == [invoice_id["B"]]
    assert resynced["voided"] == [invoices["D"].id]
    assert resynced["recorded_in_keap"] == [stray_payment]
    eventually(
        lambda: "updated" in tenant.activity_outcomes(invoice_id["A"]), "A rewritten in Xero"
    )
    reissued = eventually(lambda: landed(ledger, numbers["B"] + "-2"), "B reissued in Xero")
    eventually(lambda: not ledger.invoices(numbers["D"]), "D voided in Xero")
    [recorded] = eventually(
        lambda: payment_ids(keap, placed["C"]["id"]), "Xero's payment on C recorded in Keap"
    )

    after = report(tenant)
    assert after["all_matched"], [r for r in after["rows"] if r["group"] != "matched"]
    rows = rows_by(after)
    assert rows[("invoice", invoice_id["B"])]["ledger_id"] == reissued.id
    assert rows[("invoice", invoice_id["C"])]["ledger_amount"] == "32.00"
    assert rows[("payment", recorded)]["ledger_id"] == stray_payment
    # D's invoice is voided, so neither side has it any more.
    assert len(after["rows"]) == 6
    assert "updated" in tenant.activity_outcomes(invoice_id["D"])


def test_a_qbo_ledger_reconciles_the_same_way(stack, keap, qbo_tenant):
    tenant = qbo_tenant
    ledger = QboLedger(stack.qbo_url, tenant.ledger_id)
    placed, numbers, invoices, paid_e = five_synced_orders(keap, tenant, ledger, QBO_ORDER_TIME)

    # Behind the system's back: a total edited and an invoice deleted in QBO, a payment
    # entered in QBO, an order deleted in Keap.
    ledger.edit_first_line(invoices["A"].id, Decimal("20.00"))
    ledger.delete_invoice(invoices["B"].id)
    stray_payment = ledger.record_payment(invoices["C"].id, Decimal("10.00"))
    keap.api("DELETE", f"/orders/{placed['D']['id']}")

    body = report(tenant, QBO_PERIOD)
    rows = rows_by(body)
    invoice_id = {name: str(order["invoice_id"]) for name, order in placed.items()}
    edited = rows[("invoice", invoice_id["A"])]
    assert edited["group"] == "different"
    changed = {d["field"]: (d["keap"], d["ledger"]) for d in edited["differences"]}
    assert changed["total"][0] == "32.00" and changed["total"][1] != "32.00"
    assert changed["lines"][1].startswith("40.00")  # 2 × 20.00 now, 25.00 in Keap
    assert set(changed) >= {"total", "amount_due", "lines"}
    deleted_in_qbo = rows[("invoice", invoice_id["B"])]
    assert deleted_in_qbo["group"] == "missing_in_ledger"
    assert deleted_in_qbo["last_word"]["outcome"] == "created"
    paid_in_qbo = rows[("invoice", invoice_id["C"])]
    assert paid_in_qbo["group"] == "different"
    assert paid_in_qbo["differences"] == [
        {"field": "amount_due", "keap": "32.00", "ledger": "22.00"}
    ]
    assert rows[("payment", stray_payment)]["group"] == "ledger_only"
    assert rows[("payment", stray_payment)]["ledger_amount"] == "10.00"
    deleted_in_keap = rows[("invoice", numbers["D"])]
    assert deleted_in_keap["group"] == "ledger_only"
    assert deleted_in_keap["keap_order_id"] == str(placed["D"]["id"])
    assert rows[("invoice", invoice_id["E"])]["group"] == "matched"
    assert rows[("payment", paid_e)]["group"] == "matched"
    assert (
        rows[("payment", paid_e)]["ledger_id"]
        == ledger.payments_linked_to(invoices["E"].id)[0]["Id"]
    )
    assert len(body["rows"]) == 7
    usd = {t["group"]: t for t in body["totals"] if t["currency"] == "USD"}
    assert usd["matched"]["count"] == 2 and usd["matched"]["keap_amount"] == "64.00"
    assert usd["missing_in_ledger"]["count"] == 1
    assert usd["different"]["count"] == 2 and usd["ledger_only"]["count"] == 2
    # One invoice query (up to 1,000 a page) and one query for the payments linked to them.
    assert body["api_calls"]["ledger"] == 2

    resynced = tenant.api.ok("POST", f"/tenants/{tenant.id}/reconciliations/{body['id']}/resync")
    assert sorted(resynced["orders"]) == sorted(str(placed[n]["id"]) for n in "ABC")
    # A deleted QBO invoice frees its number: B is written again under it.
    assert resynced["reissued"] == []
    assert resynced["voided"] == [invoices["D"].id]
    assert resynced["recorded_in_keap"] == [stray_payment]
    b_again = eventually(lambda: landed(ledger, numbers["B"]), "B written to QBO again")
    eventually(lambda: "updated" in tenant.activity_outcomes(invoice_id["A"]), "A rewritten in QBO")
    eventually(
        lambda: ledger.invoice(invoices["D"].id)["PrivateNote"].startswith("Voided"),
        "D voided in QBO",
    )
    [recorded] = eventually(
        lambda: payment_ids(keap, placed["C"]["id"]), "QBO's payment on C recorded in Keap"
    )

    after = report(tenant, QBO_PERIOD)
    assert after["all_matched"], [r for r in after["rows"] if r["group"] != "matched"]
    rows = rows_by(after)
    assert rows[("invoice", invoice_id["B"])]["ledger_id"] == b_again.id
    assert rows[("payment", recorded)]["ledger_id"] == stray_payment
    assert rows[("payment", paid_e)]["group"] == "matched"
    assert len(after["rows"]) == 6
