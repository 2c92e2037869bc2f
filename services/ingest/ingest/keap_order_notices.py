"""Notifications for Keap orders found by listing (poll, backfill): one per order, ids only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from invoicesync.domain.keap_order import KeapOrder
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
    return [
        Outgoing(
            Topic.KEAP_NOTIFICATIONS,
            envelope_for(
                EventType.KEAP_CHANGE_NOTIFIED,
                tenant_id,
                KeapNotification(
                    object_type="order",
                    object_id=order.id,
                    source=source,
                    observed_at=observed_at,
                    event_key=event_key,
                ),
            ),
        )
        for order in orders
    ]
