"""The monthly reconciliation email: when it is due and what it says (pure: the caller passes
the clock's reading and the report's totals).

A tenant that opts in gets, on the 1st of each month at its daily-summary hour in its time
zone, the previous month's reconciliation: totals per group and currency and a link to the
report in the console. The first email goes on the first 1st after opting in, so opting in
never sends a report of a month the tenant did not ask about.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from invoicesync.domain.digest import Addressee, EmailContent
from invoicesync.domain.reconciliation import Group, GroupTotal

GROUP_TITLES = {
    Group.MATCHED: "Matched",
    Group.DIFFERENT: "Different",
    Group.MISSING_IN_LEDGER: "Missing in the ledger",
    Group.LEDGER_ONLY: "In the ledger, not in Keap",
}


@dataclass(frozen=True)
class MonthlySlot:
    month: date  # the 1st of the tenant's local month the email goes in
    at: datetime  # the moment, in UTC

    @property
    def period(self) -> tuple[date, date]:
        """The month the email reports: the one before `month`."""
        return previous_month(self.month)


def previous_month(day: date) -> tuple[date, date]:
    """The first and last day of the month before `day`'s."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def monthly_slot_on(month: date, hour: int, timezone: str) -> MonthlySlot:
    first = month.replace(day=1)
    local = datetime.combine(first, time(hour), tzinfo=ZoneInfo(timezone))
    return MonthlySlot(first, local.astimezone(UTC))


def latest_monthly_slot(now: datetime, hour: int, timezone: str) -> MonthlySlot:
    """The last slot at or before `now`."""
    this_month = monthly_slot_on(now.astimezone(ZoneInfo(timezone)).date(), hour, timezone)
    if this_month.at <= now:
        return this_month
    return monthly_slot_on(this_month.month - timedelta(days=1), hour, timezone)


def due_monthly_slot(
    now: datetime,
    *,
    hour: int,
    timezone: str,
    enabled_since: datetime,
    last_month: date | None,
) -> MonthlySlot | None:
    """The slot whose report should be made now, or None. `enabled_since`: when the tenant
    was first seen opted in; `last_month`: the slot month of the last report made."""
    slot = latest_monthly_slot(now, hour, timezone)
    if slot.at < enabled_since:
        return None
    if last_month is not None and last_month >= slot.month:
        return None
    return slot


def report_link(public_base_url: str, tenant_id: str, job_id: str) -> str:
    query = urlencode({"job": job_id})
    return f"{public_base_url.rstrip('/')}/tenants/{tenant_id}/reconciliation?{query}"


def monthly_reconciliation_email(
    addressee: Addressee,
    first: date,
    last: date,
    totals: Sequence[GroupTotal],
    link: str,
) -> EmailContent:
    """The email of one month's report: a headline, the totals per group and currency, the
    link. Amounts are Keap's (the ledger's where only it has the row), as the report shows."""
    counts = {group: sum(t.count for t in totals if t.group is group) for group in Group}
    off = sum(n for group, n in counts.items() if group is not Group.MATCHED)
    headline = "all matched" if off == 0 else f"{off} to look at"
    month = first.strftime("%B %Y")
    subject = f"InvoiceSync reconciliation for {addressee.tenant_name}, {month}: {headline}"
    intro = (
        f"Keap and the ledger for {addressee.tenant_name}, {first.isoformat()} to "
        f"{last.isoformat()}: {sum(counts.values())} invoices and payments, {headline}."
    )
    rows = [_row(total) for total in totals]
    listed = [f"  {g}: {c} {n}  Keap {k}  ledger {led}" for g, c, n, k, led in rows]
    text = "\n".join([intro, "", *listed, "", f"Report: {link}", ""])
    esc = html.escape
    cells = "".join(
        "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    body = (
        f"<p>{esc(intro)}</p><table><tr><th>Group</th><th>Currency</th><th>Count</th>"
        f"<th>Keap</th><th>Ledger</th></tr>{cells}</table>"
        f'<p><a href="{esc(link)}">The report in the console</a></p>'
    )
    return EmailContent(subject=subject, text=text, html=body)


def _row(total: GroupTotal) -> tuple[str, str, str, str, str]:
    return (
        GROUP_TITLES[total.group],
        total.currency,
        str(total.count),
        f"{total.keap_amount:.2f}",
        f"{total.ledger_amount:.2f}",
    )
