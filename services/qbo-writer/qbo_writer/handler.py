"""The QBO writer's handler: the shared writer flow over QuickBooks Online's ledger."""

from __future__ import annotations

import redis

from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.domain.canonical import Destination
from invoicesync.kafka.publisher import Publisher
from invoicesync.settings import Settings
from invoicesync.stores.id_map import IdMap
from invoicesync.stores.tenants import TenantStore
from invoicesync.writing.flow import CanonicalEventWriter
from invoicesync.writing.held_payments import HeldPayments
from qbo_writer.qbo_ledger import QboLedgerWriter


def qbo_event_writer(
    settings: Settings, client: redis.Redis, ledger_publisher: Publisher | None
) -> CanonicalEventWriter:
    """Canonical events of QBO tenants → QBO writes and sync results. `ledger_publisher`
    appends every id mapping to the id-map ledger topic (None keeps it in Redis only)."""
    return CanonicalEventWriter(
        Destination.QBO,
        QboLedgerWriter(qbo_client_from_settings(settings, client)),
        IdMap(client, ledger_publisher, settings),
        TenantStore(client),
        HeldPayments(client),
    )
