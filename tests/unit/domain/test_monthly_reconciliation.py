"""When the monthly reconciliation email is due, which month it reports, and what it says."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from invoicesync.domain.digest import Addressee
from invoicesync.domain.monthly_reconciliation import (
    due_monthly_slot,
    monthly_reconciliation_email,
    previous_month,
    report_link,
)
from invoicesync.domain.reconciliation import Group, GroupTotal

SYDNEY = "Australia/Sydney"
OPTED_IN = datetime(2026, 5, 20, tzinfo=UTC)


def due(now: datetime, *, since=OPTED_IN, last_month=None, timezone=SYDNEY):
    return due_monthly_slot(
        now, hour=7, timezone=timezone, enabled_since=since, last_month=last_month
    )


def test_previous_month_handles_january_and_month_lengths():
    assert previous_month(date(2026, 1, 1)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert previous_month(date(2026, 3, 15)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert previous_month(date(2024, 3, 1)) == (date(2024, 2, 1), date(2024, 2, 29))


def test_due_on_the_first_at_the_tenants_hour_in_its_zone_for_the_month_before():
    # 07:00 on 1 June in Sydney (AEST, +10) is 21:00 UTC on 31 May.
    assert due(datetime(2026, 5, 31, 20, 59, tzinfo=UTC)) is None
    slot = due(datetime(2026, 5, 31, 21, 0, tzinfo=UTC))
    assert slot is not None
    assert slot.month == date(2026, 6, 1)
    assert slot.period == (date(2026, 5, 1), date(2026, 5, 31))


def test_a_missed_slot_is_still_due_later_in_the_month_but_only_once():
    later = datetime(2026, 6, 9, 3, 0, tzinfo=UTC)
    assert due(later).month == date(2026, 6, 1)
    assert due(later, last_month=date(2026, 6, 1)) is None
    assert due(datetime(2026, 7, 1, 0, 0, tzinfo=UTC), last_month=date(2026, 6, 1)).period == (
        date(2026, 6, 1),
        date(2026, 6, 30),
    )


def test_opting_in_after_the_first_waits_for_the_next_first():
    opted = datetime(2026, 6, 9, tzinfo=UTC)
    assert due(datetime(2026, 6, 20, tzinfo=UTC), since=opted) is None
    assert due(datetime(2026, 6, 30, 21, 0, tzinfo=UTC), since=opted).month == date(2026, 7, 1)


def test_the_email_lists_totals_per_group_and_currency_and_links_the_report():
    addressee = Addressee("t1", "Acme & Co", "http://admin.test", SYDNEY)
    totals = (
        GroupTotal(Group.MATCHED, "AUD", 3, Decimal("300.00"), Decimal("300.00")),
        GroupTotal(Group.MATCHED, "USD", 1, Decimal("32.00"), Decimal("32.00")),
        GroupTotal(Group.MISSING_IN_LEDGER, "AUD", 2, Decimal("18.00"), Decimal("0")),
    )
    link = report_link("http://admin.test/", "t1", "job9")
    email = monthly_reconciliation_email(
        addressee, date(2026, 5, 1), date(2026, 5, 31), totals, link
    )
    assert email.subject == "InvoiceSync reconciliation for Acme & Co, May 2026: 2 to look at"
    assert link == "http://admin.test/tenants/t1/reconciliation?job=job9"
    assert "2026-05-01 to 2026-05-31: 6 invoices and payments, 2 to look at." in email.text
    assert "  Matched: AUD 3  Keap 300.00  ledger 300.00" in email.text
    assert "  Matched: USD 1  Keap 32.00  ledger 32.00" in email.text
    assert "  Missing in the ledger: AUD 2  Keap 18.00  ledger 0.00" in email.text
    assert f"Report: {link}" in email.text
    assert "Acme &amp; Co" in email.html and f'href="{link}"' in email.html


def test_an_all_matched_month_says_so():
    addressee = Addressee("t1", "Acme", "http://admin.test")
    totals = (GroupTotal(Group.MATCHED, "USD", 1, Decimal("5.00"), Decimal("5.00")),)
    email = monthly_reconciliation_email(
        addressee, date(2026, 5, 1), date(2026, 5, 31), totals, "http://x"
    )
    assert email.subject.endswith("May 2026: all matched")
