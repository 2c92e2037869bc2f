"""The QBO writer's handler: the shared writer flow over QuickBooks Online's ledger."""

from __future__ import annotations

import redis

from invoicesync.clients.qbo import QboClient
from invoicesync.domain.canonical import Destination
from invoicesync.stores.id_map import IdMap
from invoicesync.writing.flow import CanonicalEventWriter
from invoicesync.writing.flow_stores import TenantSettingsSource
from invoicesync.writing.held_payments import HeldPayments
from qbo_writer.qbo_ledger import QboLedgerWriter


def qbo_event_writer(
    client: QboClient, id_map: IdMap, tenants: TenantSettingsSource, redis_client: redis.Redis
) -> CanonicalEventWriter:
    """`handle(envelopes) -> list[Outgoing]` for canonical events of QBO tenants."""
    return CanonicalEventWriter(
        Destination.QBO, QboLedgerWriter(client), id_map, tenants, HeldPayments(redis_client)
    )
