"""A QBO payment the QBO writer made from Keap is not written back, though its webhooks arrive
and change data capture sees it. What both ledgers share is in test_ledger_reverse_sync.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.stores.id_map import MappedId
from invoicesync.stores.ledger_watch import LedgerWatch
from invoicesync.stores.tenants import TenantStore
from tests.waiting import eventually

pytestmark = pytest.mark.infra


def test_a_qbo_payment_that_came_from_keap_is_not_written_back(stack):
    stack.subscribe_qbo_webhooks()
    tenant = stack.tenant(Destination.QBO)
    order, invoice_id = stack.synced_invoice(tenant)

    qbo_id = stack.qbo_payment(tenant, invoice_id, "30.00", note="Keap payment 8001 (Check)")
    stack.id_map().put(tenant.tenant_id, "qbo", "payment", "8001", MappedId(qbo_id, "hash"))
    eventually(lambda: len(stack.deliveries(stack.qbo_url)) >= 2, what="the webhooks")
    stack.finish_delivered_webhooks()

    assert stack.service.poller.poll_tenant(tenant.tenant_id) == []
    assert stack.reverse_payments(tenant, order["id"]) == []


def test_a_qbo_payment_lands_in_keap_on_its_own_day_in_the_tenants_time_zone(stack):
    """Midnight UTC of 10 March is still 9 March in California: Keap would show the day before."""
    tenant = stack.tenant(Destination.QBO)
    store = TenantStore(stack.redis)
    settings = store.settings(tenant.tenant_id)
    pacific = replace(settings.keap, timezone="America/Los_Angeles")
    store.save_settings(tenant.tenant_id, replace(settings, keap=pacific))
    order, invoice_id = stack.synced_invoice(tenant)

    stack.qbo_payment(tenant, invoice_id, "20.00")  # TxnDate 2026-03-10
    stack.service.poller.poll_tenant(tenant.tenant_id)

    [recorded] = stack.reverse_payments(tenant, order["id"])
    assert recorded.paid_at is not None
    assert recorded.paid_at.astimezone(ZoneInfo("America/Los_Angeles")).date() == date(2026, 3, 10)


def test_a_qbo_webhook_naming_only_the_invoice_catches_its_payment_up_by_cdc(stack):
    """The payment's own notification never comes (here: not subscribed); the invoice's new
    balance is notified, and that alone brings the company's Change Data Capture read forward."""
    stack.subscribe_qbo_webhooks(entities=("Invoice",))
    tenant = stack.tenant(Destination.QBO)
    order, invoice_id = stack.synced_invoice(tenant)
    stack.service.poller.poll_tenant(tenant.tenant_id)  # the schedule's poll, before the payment

    stack.qbo_payment(tenant, invoice_id, "45.00")

    [recorded] = eventually(
        lambda: stack.reverse_payments(tenant, order["id"]), what="the payment in Keap"
    )
    assert recorded.amount == Decimal("45.00")
    deliveries = stack.deliveries(stack.qbo_url)
    assert deliveries and all(d["status"] == 200 for d in deliveries), deliveries


def test_a_webhook_older_than_the_last_poll_costs_no_ledger_call(stack):
    """A burst of webhooks queued behind one catch-up: the first reads, the rest see that a
    poll began after they arrived and read nothing more."""
    tenant = stack.tenant(Destination.QBO)
    watch = LedgerWatch(stack.redis)
    poller = stack.service.poller
    before_the_poll = datetime.now(UTC)
    poller.poll_tenant(tenant.tenant_id)
    calls = watch.poll_calls_on(tenant.tenant_id, datetime.now(UTC).date())

    assert poller.poll_tenant(tenant.tenant_id, unless_polled_since=before_the_poll) == []
    assert watch.poll_calls_on(tenant.tenant_id, datetime.now(UTC).date()) == calls

    poller.poll_tenant(tenant.tenant_id, unless_polled_since=datetime.now(UTC))
    assert watch.poll_calls_on(tenant.tenant_id, datetime.now(UTC).date()) == calls + 1
