"""What failed heals through the running system without an operator: Sync ID and "retry failed"
drive a failed, unchanged invoice again, and reconnecting a lapsed ledger connection brings
every order of the gap (issue 20, "Re-drive what failed")."""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from invoicesync.crypto import TokenCipher
from invoicesync.stores.tokens import TokenStore
from tests.e2e.destinations import XERO_SETTINGS, xero_tenant
from tests.e2e.journey import Tenant, connect, retire
from tests.e2e.keap_orders import place_order, settle_tenant, taxed_order
from tests.e2e.ledgers import XeroLedger, keap_figures, landed
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

# The issue's own figure.
GAP_ORDERS = 20
ARCHIVED_ACCOUNT = "260"


@pytest.fixture
def tenant(stack):
    running = xero_tenant(stack, default_account_code=ARCHIVED_ACCOUNT)
    yield running
    retire(stack, running)


def invoice_outcomes(tenant: Tenant, keap_invoice_id: str) -> list[str]:
    """Oldest first, each as `outcome: reason`."""
    entries = [
        entry
        for entry in tenant.activity(keap_invoice_id)
        if entry["object_type"] == "invoice" and entry["keap_id"] == keap_invoice_id
    ]
    return [f"{e['outcome']}: {e['reason']}" for e in reversed(entries)]


def outcomes_starting(tenant: Tenant, keap_invoice_id: str, outcome: str) -> list[str]:
    return [o for o in invoice_outcomes(tenant, keap_invoice_id) if o.startswith(outcome)]


def archive_account(stack, tenant: Tenant, code: str) -> None:
    requests.put(
        f"{stack.xero_url}/_sandbox/xero/organisations/{tenant.ledger_id}/accounts/{code}/status",
        json={"status": "ARCHIVED"},
        timeout=5,
    ).raise_for_status()


def test_a_refused_invoice_is_driven_again_by_sync_id_and_by_retry_failed_once_fixed(
    stack, keap, tenant
):
    ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
    archive_account(stack, tenant, ARCHIVED_ACCOUNT)  # the accountant archived it in Xero
    placed = place_order(keap, taxed_order(keap))
    invoice_id, number = str(placed["invoice_id"]), keap_figures(placed).invoice_number
    refused = eventually(
        lambda: outcomes_starting(tenant, invoice_id, "failed"), f"invoice {invoice_id} refused"
    )

    # Sync ID of the unchanged, failed invoice: driven again (and refused again).
    tenant.api.ok("POST", f"/tenants/{tenant.id}/sync", {"invoice_id": invoice_id})
    refused_again = eventually(
        lambda: len(outcomes_starting(tenant, invoice_id, "failed")) >= 2 or None,
        "Sync ID to drive the failed invoice again",
    )

    # Fixed in settings, then "retry failed".
    document = tenant.api.ok("GET", f"/tenants/{tenant.id}/settings")
    document["xero"]["default_account_code"] = XERO_SETTINGS["default_account_code"]
    tenant.api.ok("PUT", f"/tenants/{tenant.id}/settings", document)
    retried = tenant.api.ok("POST", f"/tenants/{tenant.id}/retry-failed")
    invoice = eventually(lambda: landed(ledger, number), f"invoice {number} in Xero")
    created = eventually(
        lambda: outcomes_starting(tenant, invoice_id, "created"), "the created outcome"
    )

    # Sync ID of the invoice now synced: the writers' id map makes it a no-op.
    tenant.api.ok("POST", f"/tenants/{tenant.id}/sync", {"invoice_id": invoice_id})
    eventually(
        lambda: outcomes_starting(tenant, invoice_id, "skipped"), "Sync ID of a synced invoice"
    )
    settle_tenant(keap, tenant)

    print(
        f"refused {len(refused)}, after Sync ID {refused_again}, retried {retried['requested']}, "
        f"outcomes {invoice_outcomes(tenant, invoice_id)}, in Xero {len(ledger.invoices(number))}"
    )
    assert ARCHIVED_ACCOUNT in refused[0]
    assert retried["requested"] >= 1
    assert created and invoice is not None
    assert len(ledger.invoices(number)) == 1
    assert outcomes_starting(tenant, invoice_id, "skipped")[-1] == "skipped: already synced"


def revoke_xero_refresh_token(stack, stack_redis, tenant: Tenant) -> None:
    """The user's refresh token stops working (revoked at Xero's revocation endpoint, as an
    expired one would answer invalid_grant): the next refresh finds the connection lapsed."""
    store = TokenStore(stack_redis, TokenCipher(stack.settings.token_encryption_key))
    connection = store.load("xero", tenant.id)
    assert connection is not None
    requests.post(
        f"{stack.xero_url}/connect/revocation",
        data={"token": connection.refresh_token},
        timeout=5,
    ).raise_for_status()


def test_orders_made_while_the_ledger_connection_lapsed_appear_once_after_reconnecting(
    stack, stack_redis, keap
):
    tenant = xero_tenant(stack)
    try:
        ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
        status = tenant.api.ok("GET", f"/tenants/{tenant.id}/status")
        organisation = status["connections"]["xero"]["external_name"]
        revoke_xero_refresh_token(stack, stack_redis, tenant)
        placed = [place_order(keap, taxed_order(keap)) for _ in range(GAP_ORDERS)]
        invoice_ids = [str(order["invoice_id"]) for order in placed]
        numbers = [keap_figures(order).invoice_number for order in placed]
        eventually(
            lambda: all(outcomes_starting(tenant, i, "failed") for i in invoice_ids),
            f"all {GAP_ORDERS} orders to fail while the connection is lost",
        )
        lost = tenant.api.ok("GET", f"/tenants/{tenant.id}/status")["connections"]["xero"]
        missing_before = GAP_ORDERS - len({i.number for i in ledger.invoices(*numbers)})

        # The user reconnects the same organisation; nothing else is done.
        requests.put(
            f"{stack.xero_url}/_sandbox/xero/consent",
            json={"organisations": [organisation]},
            timeout=5,
        ).raise_for_status()
        connect(tenant.api, tenant.id, "xero")
        eventually(
            lambda: len({i.number for i in ledger.invoices(*numbers)}) == GAP_ORDERS,
            f"all {GAP_ORDERS} gap orders in Xero after reconnecting",
        )
        settle_tenant(keap, tenant)
        copies = Counter(invoice.number for invoice in ledger.invoices(*numbers))

        print(
            f"gap orders {GAP_ORDERS}, missing while lost {missing_before}, "
            f"in Xero after reconnecting {len(copies)}, copies {sorted(copies.values())}"
        )
        assert lost["status"] == "disconnected"
        assert missing_before == GAP_ORDERS
        assert copies == dict.fromkeys(numbers, 1)
    finally:
        retire(stack, tenant)
