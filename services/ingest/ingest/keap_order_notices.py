"""Notifications for Keap orders and payments found by listing (poll, backfill): ids only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from invoicesync.domain.keap_order import KeapOrder, KeapPayment
from invoicesync.events import (
    EventType,
    KeapNotification,
    NotificationSource,
    Topic,
    envelope_for,
)
from invoicesync.kafka.publisher import Outgoing


def order_notices(
    tenant_id: str,
    orders: Iterable[KeapOrder],
    source: NotificationSource,
    event_key: str,
    observed_at: datetime,
) -> list[Outgoing]:
    """One KeapChangeNotified per order; transform re-reads each order from Keap."""
    return _notices(
        tenant_id, "order", [order.id for order in orders], source, event_key, observed_at
    )


def payment_notices(
    tenant_id: str,
    payments: Iterable[KeapPayment],
    source: NotificationSource,
    event_key: str,
    observed_at: datetime,
) -> list[Outgoing]:
    """One KeapChangeNotified per sales payment; transform re-reads the orders it pays."""
    ids = [payment.id for payment in payments]
    return _notices(tenant_id, "payment", ids, source, event_key, observed_at)


def _notices(
    tenant_id: str,
    object_type: str,
    object_ids: list[str],
    source: NotificationSource,
    event_key: str,
    observed_at: datetime,
) -> list[Outgoing]:
    return [
        Outgoing(
            Topic.KEAP_NOTIFICATIONS,
            envelope_for(
                EventType.KEAP_CHANGE_NOTIFIED,
                tenant_id,
                KeapNotification(
                    object_type=object_type,
                    object_id=object_id,
                    source=source,
                    observed_at=observed_at,
                    event_key=event_key,
                ),
            ),
        )
        for object_id in object_ids
    ]
