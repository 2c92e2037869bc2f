"""What Health says about ReverseSync's poll budget and Connections about ledger webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from admin.console.connection_pages import ledger_webhook_status
from admin.ledger_poll_budget import poll_budget_lines
from invoicesync.stores.ledger_watch import WebhookState, scheduled_poll_calls_per_day
from reverse_sync.poller import round_tick_seconds

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_the_default_five_minute_poll_is_288_calls_a_day_and_rounds_run_a_tenth_apart():
    assert scheduled_poll_calls_per_day(300) == 288
    assert scheduled_poll_calls_per_day(7) == 12_343  # a part interval still makes a call
    assert round_tick_seconds(300) == 15.0
    assert round_tick_seconds(8) == 0.8
    assert round_tick_seconds(2) == 0.5


def test_health_puts_the_xero_poll_against_the_organisations_daily_budget():
    lines = poll_budget_lines(
        {
            "destination": "xero",
            "interval_seconds": 300,
            "scheduled_calls_per_day": 288,
            "calls_today": 41,
            "daily_limit": 5000,
            "calls_last_24_hours": 1234,
        }
    )
    assert lines == [
        "Every 5 minutes: 288 Xero calls a day, 5.8% of the 5,000 a day Xero allows this "
        "organisation.",
        "41 made today (UTC), the catch-ups webhooks asked for included.",
        "All InvoiceSync calls to this organisation in the last 24 hours: 1,234 of 5,000.",
    ]


def test_health_shows_the_qbo_poll_without_a_daily_budget_and_nothing_without_reverse_sync():
    lines = poll_budget_lines(
        {
            "destination": "qbo",
            "interval_seconds": 90,
            "scheduled_calls_per_day": 960,
            "calls_today": 0,
            "daily_limit": None,
            "calls_last_24_hours": None,
        }
    )
    assert lines[0] == "Every 90 seconds: 960 QuickBooks calls a day."
    assert len(lines) == 2
    assert poll_budget_lines(None) == []


def test_xero_webhooks_are_verified_by_intent_to_receive_and_its_wrong_signatures_are_no_alarm():
    state = WebhookState(
        verified_at=NOON, refused_at=NOON + timedelta(seconds=1), intent_checked_at=NOON
    )
    status = ledger_webhook_status("xero", True, state, NOON)
    assert status["verified"] is True
    assert "intent to receive answered 03 December 2026 12:00 UTC" in status["text"]
    assert status["warning"] == ""


def test_a_refused_signature_after_the_last_good_one_is_a_warning():
    state = WebhookState(
        verified_at=NOON, refused_at=NOON + timedelta(hours=2), intent_checked_at=None
    )
    status = ledger_webhook_status("qbo", True, state, NOON)
    assert status["verified"] is True
    assert "does not match our verifier token" in status["warning"]


def test_webhooks_with_no_signed_delivery_or_no_secret_are_not_verified():
    nothing = WebhookState(None, None, None)
    assert ledger_webhook_status("qbo", True, nothing)["verified"] is False
    unset = ledger_webhook_status("xero", False, nothing)
    assert unset["verified"] is False
    assert "no webhook key" in unset["text"]
