"""What ReverseSync's payment poll costs a tenant in ledger calls, for Health and the status API:
its schedule, the calls it made today, and (Xero) the organisation's daily budget it shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis

from invoicesync.clients.xero import xero_limiter_scope
from invoicesync.domain.canonical import Destination
from invoicesync.errors import Transient
from invoicesync.stores.ledger_watch import LedgerWatch, scheduled_poll_calls_per_day
from invoicesync.stores.limiter import XERO_TENANT, Limiter
from invoicesync.stores.tenants import TenantStore

XERO_DAY_RULE = next(rule for rule in XERO_TENANT if rule.window_seconds == 86_400)


def ledger_poll_budget(
    client: redis.Redis,
    tenant_id: str,
    interval_seconds: int,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """None when the tenant does not use ReverseSync (its poll makes no calls)."""
    settings = TenantStore(client).settings(tenant_id)
    if not settings.sync.reverse_sync_enabled:
        return None
    now = now or datetime.now(UTC)
    budget: dict[str, Any] = {
        "destination": settings.destination.value,
        "interval_seconds": interval_seconds,
        "scheduled_calls_per_day": scheduled_poll_calls_per_day(interval_seconds),
        "calls_today": LedgerWatch(client).poll_calls_on(tenant_id, now.date()),
        "daily_limit": None,
        "calls_last_24_hours": None,
    }
    if settings.destination is Destination.XERO:
        budget["daily_limit"] = XERO_DAY_RULE.limit
        try:
            used = Limiter(client).used(xero_limiter_scope(tenant_id), XERO_DAY_RULE)
        except Transient:
            used = None
        budget["calls_last_24_hours"] = used
    return budget


def poll_budget_lines(budget: dict[str, Any] | None) -> list[str]:
    """Health's plain words for `ledger_poll_budget`; nothing when ReverseSync is off."""
    if budget is None:
        return []
    ledger = "Xero" if budget["destination"] == Destination.XERO.value else "QuickBooks"
    scheduled = budget["scheduled_calls_per_day"]
    line = f"Every {_every(budget['interval_seconds'])}: {scheduled:,} {ledger} calls a day"
    limit = budget["daily_limit"]
    if limit:
        line += f", {100 * scheduled / limit:.1f}% of the {limit:,} a day Xero allows"
        line += " this organisation"
    lines = [
        line + ".",
        f"{budget['calls_today']:,} made today (UTC), the catch-ups webhooks asked for included.",
    ]
    if limit and budget["calls_last_24_hours"] is not None:
        lines.append(
            f"All InvoiceSync calls to this organisation in the last 24 hours: "
            f"{budget['calls_last_24_hours']:,} of {limit:,}."
        )
    return lines


def _every(seconds: int) -> str:
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds} seconds"
