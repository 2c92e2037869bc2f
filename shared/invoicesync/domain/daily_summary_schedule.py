"""When a daily-mode tenant's summary is due (pure: the caller passes the clock's reading).

Each local day has one summary slot, at the tenant's hour in the tenant's time zone. The
summary of a slot covers the results recorded before it (normally the 24 hours since the
previous slot); results recorded after it wait for the next one. A tenant's first slot is on
the local day after it switched to daily mode, so switching never sends a near-empty summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIOD = timedelta(hours=24)


@dataclass(frozen=True)
class SummarySlot:
    day: date  # the tenant's local day
    at: datetime  # the moment, in UTC

    @property
    def covers_from(self) -> datetime:
        return self.at - PERIOD


def slot_on(day: date, hour: int, timezone: str) -> SummarySlot:
    local = datetime.combine(day, time(hour), tzinfo=ZoneInfo(timezone))
    return SummarySlot(day, local.astimezone(UTC))


def latest_slot(now: datetime, hour: int, timezone: str) -> SummarySlot:
    """The last slot at or before `now`."""
    today = slot_on(now.astimezone(ZoneInfo(timezone)).date(), hour, timezone)
    if today.at <= now:
        return today
    return slot_on(today.day - timedelta(days=1), hour, timezone)


def next_slot(now: datetime, hour: int, timezone: str) -> SummarySlot:
    """The first slot after `now`."""
    latest = latest_slot(now, hour, timezone)
    return slot_on(latest.day + timedelta(days=1), hour, timezone)


def first_slot_after_switch(daily_since: datetime, hour: int, timezone: str) -> SummarySlot:
    """The slot of the local day after the switch to daily mode."""
    switched_on = daily_since.astimezone(ZoneInfo(timezone)).date()
    return slot_on(switched_on + timedelta(days=1), hour, timezone)


def due_summary_slot(
    now: datetime,
    *,
    hour: int,
    timezone: str,
    daily_since: datetime,
    last_summary_on: date | None,
    oldest_recorded_at: datetime | None,
) -> SummarySlot | None:
    """The slot whose summary should go now, or None.

    `daily_since`: when the tenant was first seen in daily mode; `last_summary_on`: the local
    day of the last summary sent; `oldest_recorded_at`: the oldest result waiting (None: none).
    """
    slot = latest_slot(now, hour, timezone)
    if slot.at < first_slot_after_switch(daily_since, hour, timezone).at:
        return None
    if last_summary_on is not None and last_summary_on >= slot.day:
        return None
    if oldest_recorded_at is None or oldest_recorded_at >= slot.at:
        return None  # nothing from before the slot: what came after waits for the next one
    return slot
