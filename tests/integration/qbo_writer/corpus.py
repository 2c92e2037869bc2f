"""The writer corpus (the Keap orders the Xero writer is tested with) as canonical events for
one tenant, each order under its own ids, plus a tenant whose settings point at QBO items."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import redis

from invoicesync.clients.qbo import QboClient
from invoicesync.domain.canonical import CanonicalInvoice, CanonicalPayment, Destination
from invoicesync.domain.keap_to_canonical import (
    canonical_invoice_from_keap_order,
    canonical_payments_from_keap,
)
from invoicesync.domain.tenant_settings import QboSettings, TenantSettings
from invoicesync.events import Envelope, EventType, envelope_for
from invoicesync.stores.tenants import TenantStore
from tests.unit.domain import keap_corpus as keap

ORDERS = {
    "widgets": keap.WIDGET_ORDER,  # taxable + non-taxable, shipping, tax, order discount
    "item-discount": keap.PER_ITEM_DISCOUNT_ORDER,
    "finance-charge": keap.FINANCE_CHARGE_ORDER,
    "payment-plan": keap.PAYMENT_PLAN_ORDER,  # due date = last plan payment
    "paid-at-checkout": keap.PAID_AT_CHECKOUT_ORDER,  # due date = invoice date
    "partly-paid": keap.PARTLY_PAID_ORDER,
    "zero-total": keap.ZERO_TOTAL_ORDER,  # skipped
    "sku": keap.order_json(
        [
            keap.item(
                "1", "PRODUCT", "Workbook", 2499, 2, product=keap.product("20", "Book", "BOOK-01")
            )
        ],
        total=4998,
    ),
}
PAYMENTS = {
    "paid-at-checkout": keap.PAID_AT_CHECKOUT_PAYMENTS,
    "partly-paid": keap.PARTLY_PAID_PAYMENTS,
}


def qbo_tenant(client: redis.Redis) -> tuple[str, TenantSettings]:
    """A QBO tenant; `point_at_items` fills in its items once it is connected."""
    tenant = TenantStore(client).create("QBO tenant", Destination.QBO)
    settings = TenantSettings(destination=Destination.QBO)
    TenantStore(client).save_settings(tenant.id, settings)
    return tenant.id, settings


def point_at_items(client: redis.Redis, qbo: QboClient, tenant_id: str) -> TenantSettings:
    by_name = {item.name: item.id for item in qbo.items(tenant_id)}
    store = TenantStore(client)
    settings = store.settings(tenant_id)
    settings = replace(
        settings,
        qbo=QboSettings(
            taxable_item_id=by_name["Taxable Product"],
            non_taxable_item_id=by_name["Non-taxable Product"],
            shipping_item_id=by_name["Shipping"],
            finance_charge_item_id=by_name["Services"],
            sku_matching=True,
        ),
        sync=replace(settings.sync, processing_enabled=True, skip_overpayments=True),
    )
    store.save_settings(tenant_id, settings)
    return settings


def corpus_invoice(
    name: str, tenant_id: str, settings: TenantSettings, number: int
) -> tuple[CanonicalInvoice, list[CanonicalPayment]]:
    order_id, invoice_id = f"{number}", f"{5000 + number}"
    order = keap.load({**ORDERS[name], "id": order_id, "invoice_id": invoice_id})
    rows = [
        {**row, "id": f"{number}{row['id']}", "invoice_id": invoice_id}
        for row in PAYMENTS.get(name, [])
    ]
    payments = keap.load_payments(rows)
    invoice = canonical_invoice_from_keap_order(order, settings, tenant_id, payments)
    return invoice, canonical_payments_from_keap(order, payments, settings, tenant_id)


def events_for(
    tenant_id: str, invoice: CanonicalInvoice, payments: list[CanonicalPayment]
) -> list[Envelope]:
    return [
        envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, invoice),
        *(envelope_for(EventType.PAYMENT_CANONICALISED, tenant_id, p) for p in payments),
    ]


def total_of(invoice: CanonicalInvoice) -> Decimal:
    return invoice.totals.total
