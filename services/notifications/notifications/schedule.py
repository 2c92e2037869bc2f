"""When a tenant's queued results become an email, and which email (pure: no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from invoicesync.domain.digest import (
    Addressee,
    EmailContent,
    NotifiedResult,
    daily_digest,
    exceptions_email,
)
from invoicesync.domain.tenant_settings import EmailMode
from invoicesync.events import SyncResult
from notifications.notification_outbox import DeliveryState, OutboxItem
from notifications.options import NotificationOptions


@dataclass(frozen=True)
class Delivery:
    """The items a delivery settles, and the email to send first (None: just drop them)."""

    items: list[OutboxItem]
    content: EmailContent | None
    daily_on: date | None = None

    @property
    def entry_ids(self) -> list[str]:
        return [item.entry_id for item in self.items]


def notified(result: SyncResult) -> NotifiedResult:
    return NotifiedResult(
        outcome=result.action.value,
        object_type=result.object_type,
        keap_id=result.keap_id,
        recorded_at=result.recorded_at,
        reason=result.reason,
        invoice_number=result.invoice_number,
        destination=result.destination,
        destination_id=result.destination_id,
    )


def due_delivery(
    mode: EmailMode,
    items: Sequence[OutboxItem],
    state: DeliveryState,
    now: datetime,
    addressee: Addressee,
    options: NotificationOptions,
) -> Delivery | None:
    """What to do for the tenant now; None means wait."""
    if not items:
        return None
    if state.retry_at is not None and now < state.retry_at:
        return None
    results = [notified(item.result) for item in items]
    if mode is EmailMode.DAILY:
        local_now = now.astimezone(ZoneInfo(addressee.timezone))
        today = local_now.date()
        if local_now.hour < options.daily_hour or state.last_daily_on == today:
            return None
        return Delivery(list(items), daily_digest(addressee, today, results), daily_on=today)
    exceptions = [item for item, result in zip(items, results, strict=True) if result.is_exception]
    if not exceptions:
        return Delivery(list(items), None)  # a clean stretch: nothing to tell in this mode
    window_opened = min(item.queued_at for item in exceptions)
    if now < window_opened + timedelta(seconds=options.window_seconds):
        return None
    return Delivery(list(items), exceptions_email(addressee, results))
