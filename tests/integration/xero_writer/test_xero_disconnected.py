"""An organisation that removed the app from Xero's side, or a connection without a scope the
writer needs: the connection is lost (the user must reconnect), not every event dead-lettered,
and the console's status says so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from invoicesync.crypto import TokenCipher
from invoicesync.events import EventType, SyncAction, envelope_for, payload_of
from invoicesync.stores.tokens import TokenStore
from tests.unit.domain.canonical_builders import invoice, product

pytestmark = pytest.mark.infra


def test_an_organisation_that_removed_the_app_marks_the_connection_lost(xero_stack):
    tenant_id = xero_stack.connect_tenant("Removed Co")
    organisation = xero_stack.tenants_xero_id(tenant_id)
    xero_stack.control("POST", f"/xero/organisations/{organisation}/remove-app")

    connection = _written_while_access_is_lost(xero_stack, tenant_id, "901")

    assert "removed" in connection.disconnected_reason


def test_a_connection_without_a_scope_the_writer_needs_is_lost_until_reconnected(xero_stack):
    # Granted before the app asked for accounting.invoices (or broad accounting.transactions).
    scopes = ("offline_access", "accounting.contacts", "accounting.settings.read")
    tenant_id = xero_stack.connect_tenant("Few Scopes Co", scopes=scopes)

    connection = _written_while_access_is_lost(xero_stack, tenant_id, "902")

    assert "scope" in connection.disconnected_reason


def _written_while_access_is_lost(xero_stack, tenant_id: str, keap_invoice_id: str):
    """Write one invoice: its result must be a failure for a lost connection, and the stored
    connection (returned) disconnected."""
    event = envelope_for(
        EventType.INVOICE_CANONICALISED,
        tenant_id,
        replace(invoice(product("10.00")), tenant_id=tenant_id, keap_invoice_id=keap_invoice_id),
    )

    outgoing = xero_stack.writer().handle([event])

    results = [payload_of(item.envelope) for item in outgoing]
    assert [r.action for r in results] == [SyncAction.FAILED]
    assert "connection lost" in results[0].reason
    store = TokenStore(xero_stack.redis, TokenCipher(xero_stack.settings.token_encryption_key))
    connection = store.load("xero", tenant_id)
    assert connection.status == "disconnected"
    return connection
