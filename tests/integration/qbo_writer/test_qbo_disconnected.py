"""A QuickBooks company that refuses the app even after a refresh: the connection is lost,
not every event dead-lettered."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.crypto import TokenCipher
from invoicesync.events import EventType, SyncAction, envelope_for, payload_of
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tokens import TokenStore
from tests.integration.qbo_writer.corpus import point_at_items, qbo_tenant
from tests.integration.qbo_writer.qbo_sandbox import qbo_sandbox
from tests.unit.domain.canonical_builders import invoice, product

pytestmark = pytest.mark.infra


def test_a_company_that_refuses_the_app_after_a_refresh_marks_the_connection_lost(settings):
    with qbo_sandbox(settings) as sandbox:
        sandbox.set_limits(False)
        client = redis_from_settings(sandbox.settings)
        tenant_id, _ = qbo_tenant(client)
        realm = sandbox.connect(tenant_id)
        point_at_items(client, qbo_client_from_settings(sandbox.settings, client), tenant_id)
        requests.put(
            f"{sandbox.base_url}/_sandbox/qbo/companies/{realm}",
            json={"app_revoked": True},
            timeout=5,
        ).raise_for_status()
        event = envelope_for(
            EventType.INVOICE_CANONICALISED,
            tenant_id,
            replace(invoice(product("10.00")), tenant_id=tenant_id, keap_invoice_id="902"),
        )

        outgoing = sandbox.writer().handle([event])

        results = [payload_of(item.envelope) for item in outgoing]
        assert [r.action for r in results] == [SyncAction.FAILED]
        assert "connection lost" in results[0].reason
        store = TokenStore(client, TokenCipher(sandbox.settings.token_encryption_key))
        assert store.load("qbo", tenant_id).status == "disconnected"
