"""A payment a bookkeeper entered in Xero, recorded in Keap by ReverseSync, is one matched row
of a reconciliation job read against the Keap and Xero stand-ins (not missing in the ledger
on one row and ledger-only on another)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from admin.admin_services import AdminServices
from admin.reconciliation import ReconciliationJobs, report_of, run_reconciliation
from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_to_keap import DestinationPayment, keap_payment_from_ledger
from invoicesync.domain.reconciliation import Group
from invoicesync.domain.tenant_settings import XeroSettings
from invoicesync.stores.tenants import TenantStore
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from tests.integration.stores.local_servers import pointed_at_xero, serving
from tests.integration.transform.keap_stand_in import keap_stand_in
from tests.integration.xero_writer.xero_tenants import connect_xero_tenant

pytestmark = pytest.mark.infra

PERIOD = (date(2026, 6, 1), date(2026, 6, 30))
LINE = {"name": "Widget", "quantity": 1, "item_type": "OTHER", "price_per_unit": "9.00"}


def test_a_reverse_synced_payment_is_one_matched_row(admin_settings, redis_client):
    with serving(create_xero_app()) as xero, keap_stand_in(admin_settings, redis_client) as keap:
        settings = pointed_at_xero(keap.settings, xero)
        services = AdminServices.from_settings(settings, publish_timeout_seconds=30)
        tenants = TenantStore(services.redis)
        name = f"R{uuid.uuid4().hex[:6]}"
        tenant_id = connect_xero_tenant(xero, tenants, services.tokens, name, XeroSettings())
        keap.connect(tenant_id)
        order = keap.order([LINE], order_time="2026-06-03T10:00:00Z")
        read = keap.client().get_order(tenant_id, str(order["id"]))
        number = read.invoice_number or read.invoice_id or read.id

        # The invoice as the Xero writer wrote it, and a payment a bookkeeper entered on it.
        ledger = xero_client_from_settings(settings, services.redis)
        [invoice] = ledger.create_invoices(tenant_id, [xero_invoice(order["id"], number)], "i1")
        invoice_id = invoice.element["InvoiceID"]
        payment = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Date": "2026-06-10",
            "Amount": Decimal("9.00"),
        }
        [paid] = ledger.create_payments(tenant_id, [payment], "p1")
        assert invoice.ok and paid.ok, (invoice.messages, paid.messages)
        payment_id = paid.element["PaymentID"]

        # What ReverseSync records in Keap for it: its note names the Xero payment.
        manual = keap_payment_from_ledger(
            DestinationPayment(
                Destination.XERO, payment_id, invoice_id, Decimal("9.00"), date(2026, 6, 10)
            ),
            tenants.settings(tenant_id).keap,
        )
        keap.client().create_manual_payment(
            tenant_id,
            str(order["id"]),
            manual.payment_amount,
            manual.payment_time,
            "Check",
            manual.notes,
        )

        job = run_reconciliation(
            services, ReconciliationJobs(services.redis).start(tenant_id, *PERIOD)
        )
        report = report_of(services, job)
        services.close()

    payments = [(r.group, r.ledger_id) for r in report.rows if r.kind == "payment"]
    assert job.status == "done", job.error
    assert payments == [(Group.MATCHED, payment_id)]


def xero_invoice(order_id: str, number: str) -> dict:
    return {
        "Type": "ACCREC",
        "Contact": {"Name": "Ann Lee"},
        "InvoiceNumber": number,
        "Date": "2026-06-03",
        "DueDate": "2026-07-03",
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "Reference": f"Keap order {order_id}",
        "LineItems": [
            {
                "Description": "Widget",
                "Quantity": 1,
                "UnitAmount": Decimal("9.00"),
                "AccountCode": "200",
                "TaxType": "NONE",
            }
        ],
    }
