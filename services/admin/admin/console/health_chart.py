"""An inline SVG bar chart of invoices synced and failures per hour, drawn on the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SYNCED = ("created", "updated")


@dataclass(frozen=True)
class Bar:
    x: float
    synced_height: float
    failed_height: float
    hour: str
    synced: int
    failed: int


@dataclass(frozen=True)
class HourlyChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: int
    first_hour: str
    last_hour: str


def hourly_chart(
    counts: dict[str, dict[str, int]],
    *,
    days: int = 3,
    now: datetime | None = None,
    width: int = 720,
    height: int = 160,
) -> HourlyChart:
    """One bar pair per hour of the last `days` days; `counts` is ActivityLog.hourly_counts."""
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=offset) for offset in range(days * 24 - 1, -1, -1)]
    keys = [hour.strftime("%Y-%m-%dT%H") for hour in hours]
    synced = [sum(counts.get(key, {}).get(action, 0) for action in SYNCED) for key in keys]
    failed = [counts.get(key, {}).get("failed", 0) for key in keys]
    peak = max([1, *synced, *failed])
    step = width / len(keys)
    bars = tuple(
        Bar(
            x=round(index * step, 2),
            synced_height=round(height * synced[index] / peak, 2),
            failed_height=round(height * failed[index] / peak, 2),
            hour=keys[index],
            synced=synced[index],
            failed=failed[index],
        )
        for index in range(len(keys))
    )
    return HourlyChart(width, height, bars, peak, f"{keys[0]}:00", f"{keys[-1]}:00")
