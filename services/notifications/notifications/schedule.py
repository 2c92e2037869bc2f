"""When a tenant's queued results become an email, and which email (pure: no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from invoicesync.domain.daily_summary_schedule import due_summary_slot
from invoicesync.domain.digest import (
    Addressee,
    EmailContent,
    NotifiedResult,
    daily_digest,
    exceptions_email,
)
from invoicesync.domain.tenant_settings import EmailMode, SyncSettings
from invoicesync.notification_summaries import notified
from invoicesync.stores.notification_outbox import DeliveryState, OutboxItem
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


def due_delivery(
    sync: SyncSettings,
    items: Sequence[OutboxItem],
    state: DeliveryState,
    now: datetime,
    addressee: Addressee,
    options: NotificationOptions,
) -> Delivery | None:
    """What to do for the tenant now; None means wait. In daily mode `state.daily_since` is
    when the sender first saw the tenant in that mode."""
    if not items:
        return None
    if state.retry_at is not None and now < state.retry_at:
        return None
    results = [notified(item.result) for item in items]
    if sync.email_mode is EmailMode.DAILY:
        return _daily_delivery(sync.daily_summary_hour, items, results, state, now, addressee)
    exceptions = [item for item, result in zip(items, results, strict=True) if result.is_exception]
    if not exceptions:
        return Delivery(list(items), None)  # routine work only: nothing to tell in this mode
    window_opened = min(item.queued_at for item in exceptions)
    if now < window_opened + timedelta(seconds=options.window_seconds):
        return None
    return Delivery(list(items), exceptions_email(addressee, results))


def _daily_delivery(
    hour: int,
    items: Sequence[OutboxItem],
    results: list[NotifiedResult],
    state: DeliveryState,
    now: datetime,
    addressee: Addressee,
) -> Delivery | None:
    slot = due_summary_slot(
        now,
        hour=hour,
        timezone=addressee.timezone,
        daily_since=state.daily_since or now,
        last_summary_on=state.last_daily_on,
        oldest_recorded_at=min(result.recorded_at for result in results),
    )
    if slot is None:
        return None
    covered = [
        (item, result)
        for item, result in zip(items, results, strict=True)
        if result.recorded_at < slot.at
    ]
    content = daily_digest(
        addressee,
        slot.day,
        [result for _, result in covered],
        covers_from=slot.covers_from,
        covers_to=slot.at,
    )
    return Delivery([item for item, _ in covered], content, daily_on=slot.day)
