"""A bookkeeper's ledger payment recorded in Keap on request (the admin's re-sync): through the
real broker to the reverse-sync worker, with the tenant's scheduled ReverseSync off and the
payment dated before its start date, recorded once however often it is asked for."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from admin.admin_services import AdminServices
from admin.ledger_payment_requests import request_keap_recording
from invoicesync.crypto import TokenCipher
from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import SyncSettings, TenantSettings
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import TokenStore

pytestmark = pytest.mark.infra


def admin_services(stack) -> AdminServices:
    tokens = TokenStore(stack.redis, TokenCipher(stack.settings.token_encryption_key))
    return AdminServices(stack.settings, stack.redis, stack.publisher, tokens)


def without_scheduled_reverse_sync(stack, tenant) -> None:
    """ReverseSync off, and its start date after the payments the tests enter (2026-03-10)."""
    sync = SyncSettings(
        processing_enabled=True,
        reverse_sync_enabled=False,
        reverse_sync_start_date=date(2026, 6, 1),
    )
    TenantStore(stack.redis).save_settings(
        tenant.tenant_id, TenantSettings(tenant.destination, sync=sync)
    )


@pytest.mark.parametrize("destination", [Destination.XERO, Destination.QBO])
def test_a_requested_ledger_payment_is_recorded_in_keap_once_with_reverse_sync_off(
    stack, destination
):
    tenant = stack.tenant(destination)
    without_scheduled_reverse_sync(stack, tenant)
    order, invoice_id = stack.synced_invoice(tenant, total=100)
    payment_id = stack.ledger_payment(tenant, invoice_id, "40.00")
    assert stack.service.poller.poll_tenant(tenant.tenant_id) == []  # the schedule is off

    services = admin_services(stack)
    for _ in range(2):
        request_keap_recording(
            services, tenant.tenant_id, destination, [payment_id], requested_by="ann@books"
        )
        stack.finish_delivered_webhooks()

    [recorded] = stack.reverse_payments(tenant, order["id"])
    assert recorded.amount == Decimal("40.00")
    assert f"{destination.value} payment {payment_id}" in recorded.note


@pytest.mark.parametrize(
    ("destination", "unknown_id"),
    [(Destination.XERO, "0b9a2a36-8b7e-4d8e-a8a9-6f1f1c7d2e11"), (Destination.QBO, "99999")],
)
def test_a_payment_the_ledger_does_not_hold_reads_as_none(stack, destination, unknown_id):
    """Xero answers 404, QBO Fault 610 Object Not Found (how a deleted QBO payment reads)."""
    tenant = stack.tenant(destination)
    if destination is Destination.XERO:
        assert stack.xero_client().get_payment(tenant.tenant_id, unknown_id) is None
    else:
        assert stack.qbo_client().read_payment(tenant.tenant_id, unknown_id) is None
