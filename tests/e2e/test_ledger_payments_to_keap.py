"""A payment a bookkeeper enters in Xero or QBO reaches the Keap order through the running
system: with no ledger webhook, by ReverseSync's scheduled payment poll; with the webhook
`make up` registers and the schedule held off, by the poll the webhook asks for.

Which path carried a payment is read from reverse-sync's own "poll done" log lines (their
`trigger`), not from how long it took: speed is the benchmarks' business."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from invoicesync.domain.sync_rules import is_reverse_sync_note
from invoicesync.stores.locks import tenant_lock
from invoicesync_sandbox.developer_portal import (
    register_ledger_webhooks,
    unregister_ledger_webhooks,
)
from reverse_sync.poller import POLLER_LOCK, last_poll_key
from tests.e2e.destinations import ledger_of, tenant_of
from tests.e2e.journey import KeapApi, retire
from tests.e2e.keap_orders import place_order, taxed_order
from tests.e2e.ledgers import keap_figures, landed
from tests.waiting import DEADLINE_SECONDS, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

REVERSE_SYNC = {"reverse_sync_enabled": True, "reverse_sync_start_date": "2026-01-01"}


def reverse_payments(keap: KeapApi, order_id) -> list[dict]:
    rows = keap.v2(f"/orders/{order_id}/payments")["invoice_order_payments"]
    return [row for row in rows if is_reverse_sync_note(row.get("note"))]


def seconds_until_in_keap(keap: KeapApi, order_id, count: int, record) -> float:
    started = time.monotonic()
    record()
    eventually(
        lambda: len(reverse_payments(keap, order_id)) >= count,
        f"payment {count} in Keap",
        step=0.5,  # Keap's stand-in throttles each client as Keap would
    )
    return time.monotonic() - started


def just_after_a_poll(client, tenant_id: str) -> None:
    """Until the tenant's scheduled payment poll runs again."""
    polled = client.get(last_poll_key(tenant_id))
    eventually(lambda: client.get(last_poll_key(tenant_id)) not in (None, polled), "a poll")


def triggers_that_recorded(stack, tenant_id: str, since: int) -> list[str]:
    """The triggers of the tenant's polls, logged after offset `since`, that recorded a payment."""
    found = []
    for line in stack.process("reverse-sync").log_text()[since:].splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if (
            entry.get("message") == "reverse-sync poll done"
            and entry.get("tenant_id") == tenant_id
            and entry.get("results", 0) > 0
        ):
            found.append(entry.get("trigger"))
    return found


@pytest.mark.parametrize("destination", ["xero", "qbo"])
def test_a_ledger_payment_reaches_keap_by_the_poll_and_by_the_webhook(
    stack, keap, stack_redis, destination
):
    targets = stack.ledger_webhooks
    inspector = KeapApi(stack.keap_url)  # reads with a client of its own, not the seeding one
    reverse_sync_log = stack.process("reverse-sync")
    # No webhook at all while the invoice is written either: none may be in flight later.
    unregister_ledger_webhooks(targets)
    tenant = tenant_of(stack, destination, sync=REVERSE_SYNC)
    try:
        ledger = ledger_of(stack, tenant)
        placed = place_order(keap, taxed_order(keap))
        number = keap_figures(placed).invoice_number
        invoice = eventually(lambda: landed(ledger, number), f"invoice {number} in {destination}")

        just_after_a_poll(stack_redis, tenant.id)
        mark = len(reverse_sync_log.log_text())
        by_poll = seconds_until_in_keap(
            inspector, placed["id"], 1, lambda: ledger.record_payment(invoice.id, Decimal("10.00"))
        )
        eventually(lambda: triggers_that_recorded(stack, tenant.id, mark), "the poll's log line")
        assert set(triggers_that_recorded(stack, tenant.id, mark)) == {"schedule"}

        # Xero documents no payment events; its stand-in can send the INVOICE UPDATE a payment
        # may cause (xero.md §11), which is what a webhook can do for Xero payments at best.
        registered = register_ledger_webhooks(
            targets, xero_invoice_events_on_payment=destination == "xero"
        )
        assert registered.xero_verified, registered.xero
        # Holding the scheduled rounds' lock leaves the webhook as the only way in.
        with tenant_lock(stack_redis, POLLER_LOCK, "all", DEADLINE_SECONDS * 2, DEADLINE_SECONDS):
            mark = len(reverse_sync_log.log_text())
            by_webhook = seconds_until_in_keap(
                inspector,
                placed["id"],
                2,
                lambda: ledger.record_payment(invoice.id, Decimal("5.00")),
            )
            eventually(
                lambda: triggers_that_recorded(stack, tenant.id, mark), "the poll's log line"
            )
            assert set(triggers_that_recorded(stack, tenant.id, mark)) == {"webhook"}
    finally:
        retire(stack, tenant)
        register_ledger_webhooks(targets)  # as the stack registered them

    print(f"{destination}: by poll {by_poll:.1f} s, by webhook {by_webhook:.1f} s")
    amounts = sorted(Decimal(str(p["amount"])) for p in reverse_payments(inspector, placed["id"]))
    assert amounts == [Decimal("5.00"), Decimal("10.00")]
