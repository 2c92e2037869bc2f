"""The two ledgers as the end-to-end tests onboard and read them: a tenant's settings section for
each, and the ledger reader for a tenant, so a test can run once per destination."""

from __future__ import annotations

from tests.e2e.journey import Tenant, onboard
from tests.e2e.ledgers import QboLedger, XeroLedger
from tests.stack import Stack

XERO_SETTINGS = {
    "default_account_code": "200",
    "taxable_tax_type": "OUTPUT",
    "zero_tax_type": "NONE",
    "payment_account_code": "090",
}


def qbo_items_of_the_company(qbo_url: str, realm_id: str) -> dict:
    """What the user picks from the company's own item list."""
    items = QboLedger(qbo_url, realm_id).items_by_name()
    return {
        "taxable_item_id": items["Taxable Product"],
        "non_taxable_item_id": items["Non-taxable Product"],
        "shipping_item_id": items["Shipping"],
    }


def xero_tenant(stack: Stack, *, keap_app_id: str | None = None, **overrides) -> Tenant:
    sync = overrides.pop("sync", None)
    return onboard(
        stack,
        "xero",
        ledger_settings=XERO_SETTINGS | overrides,
        sync=sync,
        keap_app_id=keap_app_id,
    )


def qbo_tenant(stack: Stack, sync: dict | None = None) -> Tenant:
    return onboard(
        stack,
        "qbo",
        ledger_settings=lambda realm_id: qbo_items_of_the_company(stack.qbo_url, realm_id),
        sync=sync,
    )


def tenant_of(stack: Stack, destination: str, sync: dict | None = None) -> Tenant:
    """A tenant writing to `destination` ("xero" or "qbo") with the usual ledger settings."""
    if destination == "xero":
        return xero_tenant(stack, sync=sync)
    return qbo_tenant(stack, sync=sync)


def ledger_of(stack: Stack, tenant: Tenant) -> XeroLedger | QboLedger:
    if tenant.destination == "xero":
        return XeroLedger(stack.xero_url, tenant.ledger_id)
    return QboLedger(stack.qbo_url, tenant.ledger_id)
