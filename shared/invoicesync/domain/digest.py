"""What a notification email says: a tenant's sync results turned into a subject and bodies.

Two kinds: the daily summary (counts by outcome, then every failure and skip with its reason
and a link to the activity log) and the exceptions email of a batching window (failures and
the skips a bookkeeper must act on only; a window without any sends nothing). Routine
bookkeeping (see attention.py) is counted in the summary, never listed, and never emailed alone.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from invoicesync.domain.attention import needs_attention

OUTCOME_ORDER = ("created", "updated", "skipped", "failed", "held")
# Beyond this many lines per section the email links to the activity log for the rest.
MAX_LISTED = 50


@dataclass(frozen=True)
class NotifiedResult:
    """One sync result as an email reports it (the outcome is a SyncAction value)."""

    outcome: str
    object_type: str
    keap_id: str
    recorded_at: datetime
    reason: str = ""
    invoice_number: str | None = None
    destination: str = ""
    destination_id: str | None = None
    reason_code: str = ""

    @property
    def is_exception(self) -> bool:
        """Something the bookkeeper must act on: what an exceptions-only email carries."""
        return needs_attention(self.outcome, self.reason_code, self.reason)

    @property
    def is_routine(self) -> bool:
        """A skip that is internal bookkeeping: shown in the activity log only."""
        return self.outcome == "skipped" and not self.is_exception

    @property
    def reference(self) -> str:
        """What a person searches the activity log for: the invoice number, else the Keap id."""
        return self.invoice_number or self.keap_id


@dataclass(frozen=True)
class Addressee:
    """Whose results these are and where their activity log lives."""

    tenant_id: str
    tenant_name: str
    activity_base_url: str
    timezone: str = "UTC"

    def activity_link(self, **filters: str) -> str:
        query = urlencode({"tenant_id": self.tenant_id, **filters})
        return f"{self.activity_base_url.rstrip('/')}/activity?{query}"

    def local_time(self, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


def exceptions_only(results: Sequence[NotifiedResult]) -> list[NotifiedResult]:
    return [result for result in results if result.is_exception]


def outcome_counts(results: Sequence[NotifiedResult]) -> dict[str, int]:
    """Counts in a stable order: the known outcomes first, anything newer after them."""
    counted = Counter(result.outcome for result in results)
    known = {outcome: counted.get(outcome, 0) for outcome in OUTCOME_ORDER}
    newer = {outcome: n for outcome, n in sorted(counted.items()) if outcome not in known}
    return {**known, **newer}


def daily_digest(
    addressee: Addressee,
    day: date,
    results: Sequence[NotifiedResult],
    *,
    covers_from: datetime,
    covers_to: datetime,
) -> EmailContent | None:
    """The daily summary of `results`, the period `covers_from` to `covers_to` (widened to the
    oldest result); None when there was nothing at all to report."""
    if not results:
        return None
    reported = [result for result in results if not result.is_routine]
    routine = len(results) - len(reported)
    counts = outcome_counts(reported)
    headline = _headline(counts)
    subject = (
        f"InvoiceSync daily summary for {addressee.tenant_name}, {day.isoformat()}: {headline}"
    )
    start = min(covers_from, *(result.recorded_at for result in results))
    sections = [
        _section(addressee, "Failures", "failed", reported),
        _section(addressee, "Skips", "skipped", reported),
    ]
    intro = (
        f"Sync results for {addressee.tenant_name} from {addressee.local_time(start)} "
        f"to {addressee.local_time(covers_to)}."
    )
    if routine:
        intro += (
            f" Not listed: {routine} routine checks (invoices and payments seen again that"
            " were synced already, ReverseSync's own payments coming back from Keap); the"
            " activity log has them."
        )
    return _email(addressee, subject, intro, counts, [s for s in sections if s is not None])


def exceptions_email(
    addressee: Addressee, results: Sequence[NotifiedResult]
) -> EmailContent | None:
    """One email for the failures and skips of a batching window; None when there were none."""
    exceptions = exceptions_only(results)
    if not exceptions:
        return None
    counts = {o: n for o, n in outcome_counts(exceptions).items() if n}
    subject = f"InvoiceSync: {_headline(counts)} for {addressee.tenant_name}"
    intro = (
        f"Some invoices or payments of {addressee.tenant_name} did not sync "
        f"{_period(addressee, exceptions)}."
    )
    sections = [
        _section(addressee, "Failures", "failed", exceptions),
        _section(addressee, "Skips", "skipped", exceptions),
    ]
    return _email(addressee, subject, intro, counts, [s for s in sections if s is not None])


@dataclass(frozen=True)
class _Section:
    title: str
    outcome: str
    listed: list[NotifiedResult]
    more: int


def _section(
    addressee: Addressee, title: str, outcome: str, results: Sequence[NotifiedResult]
) -> _Section | None:
    matching = sorted(
        (r for r in results if r.outcome == outcome), key=lambda r: (r.recorded_at, r.keap_id)
    )
    if not matching:
        return None
    return _Section(title, outcome, matching[:MAX_LISTED], max(0, len(matching) - MAX_LISTED))


def _headline(counts: dict[str, int]) -> str:
    shown = [f"{n} {outcome}" for outcome, n in counts.items() if n]
    return ", ".join(shown) if shown else "nothing new"


def _period(addressee: Addressee, results: Sequence[NotifiedResult]) -> str:
    first = addressee.local_time(min(r.recorded_at for r in results))
    last = addressee.local_time(max(r.recorded_at for r in results))
    return f"at {first}" if first == last else f"from {first} to {last}"


def _describe(result: NotifiedResult) -> str:
    what = f"{result.object_type} {result.reference}"
    if result.invoice_number and result.invoice_number != result.keap_id:
        what += f" (Keap id {result.keap_id})"
    return what


def _email(
    addressee: Addressee,
    subject: str,
    intro: str,
    counts: dict[str, int],
    sections: list[_Section],
) -> EmailContent:
    return EmailContent(
        subject=subject,
        text=_text_body(addressee, intro, counts, sections),
        html=_html_body(addressee, intro, counts, sections),
    )


def _text_body(
    addressee: Addressee, intro: str, counts: dict[str, int], sections: list[_Section]
) -> str:
    lines = [intro, ""]
    lines += [f"  {outcome}: {n}" for outcome, n in counts.items()]
    for section in sections:
        lines += ["", f"{section.title}:"]
        for result in section.listed:
            lines.append(
                f"- {_describe(result)} at {addressee.local_time(result.recorded_at)}: "
                f"{result.reason or 'no reason given'}"
            )
            lines.append(f"  {addressee.activity_link(q=result.reference)}")
        if section.more:
            lines.append(
                f"- and {section.more} more: {addressee.activity_link(outcome=section.outcome)}"
            )
    lines += ["", f"Activity log: {addressee.activity_link()}", ""]
    return "\n".join(lines)


def _html_body(
    addressee: Addressee, intro: str, counts: dict[str, int], sections: list[_Section]
) -> str:
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(o)}</td><td>{n}</td></tr>" for o, n in counts.items())
    parts = [f"<p>{esc(intro)}</p>", f"<table>{rows}</table>"]
    for section in sections:
        items = "".join(
            f'<li><a href="{esc(addressee.activity_link(q=r.reference))}">'
            f"{esc(_describe(r))}</a> at {esc(addressee.local_time(r.recorded_at))}: "
            f"{esc(r.reason or 'no reason given')}</li>"
            for r in section.listed
        )
        if section.more:
            link = esc(addressee.activity_link(outcome=section.outcome))
            items += f'<li><a href="{link}">and {section.more} more</a></li>'
        parts.append(f"<h3>{esc(section.title)}</h3><ul>{items}</ul>")
    parts.append(f'<p><a href="{esc(addressee.activity_link())}">Open the activity log</a></p>')
    return f"<html><body>{''.join(parts)}</body></html>"
