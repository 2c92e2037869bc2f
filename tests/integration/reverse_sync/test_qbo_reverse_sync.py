"""Payments entered in the QBO stand-in reach the Keap order once, by webhook or by CDC."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from invoicesync.domain.canonical import Destination
from invoicesync.domain.sync_rules import is_reverse_sync_note
from invoicesync.stores.id_map import MappedId
from invoicesync.stores.tenants import TenantStore
from tests.waiting import eventually

pytestmark = pytest.mark.infra


def _reverse_payments(stack, tenant, order_id):
    return [p for p in stack.keap_payments(tenant, order_id) if is_reverse_sync_note(p.note)]


@pytest.mark.parametrize("format", ["cloudevents", "legacy"])
def test_a_payment_entered_in_qbo_appears_once_on_the_keap_order(stack, format):  # noqa: A002
    stack.subscribe_qbo_webhooks(format)
    tenant = stack.tenant(Destination.QBO)
    order, invoice_id = stack.synced_invoice(tenant, total=100)

    payment_id = stack.qbo_payment(tenant, invoice_id, "45.00")

    [recorded] = eventually(
        lambda: _reverse_payments(stack, tenant, order["id"]), what="the payment in Keap"
    )
    assert recorded.amount == Decimal("45.00")
    assert f"qbo payment {payment_id}" in recorded.note
    stack.service.poller.poll_tenant(tenant.tenant_id)  # CDC sees it again and adds nothing
    assert len(_reverse_payments(stack, tenant, order["id"])) == 1


def test_duplicated_qbo_deliveries_still_record_the_payment_once(stack):
    stack.subscribe_qbo_webhooks()
    stack.faults(stack.qbo_url, webhook_duplicate_rate=1.0)
    tenant = stack.tenant(Destination.QBO)
    order, invoice_id = stack.synced_invoice(tenant)

    stack.qbo_payment(tenant, invoice_id, "12.34")

    eventually(
        lambda: sum(d["duplicated"] for d in stack.deliveries(stack.qbo_url)) >= 2,
        what="duplicated deliveries",
    )
    eventually(lambda: _reverse_payments(stack, tenant, order["id"]), what="the payment in Keap")
    stack.finish_delivered_webhooks()
    assert [p.amount for p in _reverse_payments(stack, tenant, order["id"])] == [Decimal("12.34")]


def test_a_dropped_qbo_webhook_is_caught_by_change_data_capture(stack):
    stack.subscribe_qbo_webhooks()
    stack.faults(stack.qbo_url, webhook_drop_rate=1.0)
    tenant = stack.tenant(Destination.QBO)
    order, invoice_id = stack.synced_invoice(tenant)
    stack.qbo_payment(tenant, invoice_id, "70.00")
    eventually(
        lambda: any(d["dropped"] for d in stack.deliveries(stack.qbo_url)),
        what="the dropped delivery",
    )
    assert _reverse_payments(stack, tenant, order["id"]) == []

    stack.service.poller.poll_due_tenants()

    assert [p.amount for p in _reverse_payments(stack, tenant, order["id"])] == [Decimal("70.00")]


def test_a_qbo_payment_that_came_from_keap_is_not_written_back(stack):
    stack.subscribe_qbo_webhooks()
    tenant = stack.tenant(Destination.QBO)
    order, invoice_id = stack.synced_invoice(tenant)

    qbo_id = stack.qbo_payment(tenant, invoice_id, "30.00", note="Keap payment 8001 (Check)")
    stack.id_map().put(tenant.tenant_id, "qbo", "payment", "8001", MappedId(qbo_id, "hash"))
    eventually(lambda: len(stack.deliveries(stack.qbo_url)) >= 2, what="the webhooks")
    stack.finish_delivered_webhooks()

    assert stack.service.poller.poll_tenant(tenant.tenant_id) == []
    assert _reverse_payments(stack, tenant, order["id"]) == []


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

    [recorded] = _reverse_payments(stack, tenant, order["id"])
    assert recorded.paid_at is not None
    assert recorded.paid_at.astimezone(ZoneInfo("America/Los_Angeles")).date() == date(2026, 3, 10)
