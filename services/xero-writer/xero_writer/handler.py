"""The xero-writer's handler: the shared writer flow wired to the Xero ledger."""

from __future__ import annotations

import redis

from invoicesync.clients.xero import XeroClient
from invoicesync.domain.canonical import Destination
from invoicesync.stores.id_map import IdMap
from invoicesync.writing.flow import CanonicalEventWriter
from invoicesync.writing.flow_stores import TenantSettingsSource
from invoicesync.writing.held_payments import HeldPayments
from xero_writer.xero_contacts import XeroContacts
from xero_writer.xero_ledger import XeroLedger


def xero_event_writer(
    client: XeroClient, id_map: IdMap, tenants: TenantSettingsSource, redis_client: redis.Redis
) -> CanonicalEventWriter:
    """`handle(envelopes) -> list[Outgoing]` for canonical events of Xero tenants."""
    ledger = XeroLedger(client, XeroContacts(client, redis_client))
    return CanonicalEventWriter(
        Destination.XERO, ledger, id_map, tenants, HeldPayments(redis_client)
    )
