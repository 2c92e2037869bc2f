"""What the daily summary and the exceptions emails say, and when there is nothing to say."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from invoicesync.domain.digest import (
    MAX_LISTED,
    Addressee,
    NotifiedResult,
    daily_digest,
    exceptions_email,
    outcome_counts,
)

ADDRESSEE = Addressee(
    tenant_id="acme1", tenant_name="Acme Ltd", activity_base_url="http://admin.test/"
)
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def result(
    outcome: str,
    keap_id: str,
    reason: str = "",
    number: str | None = None,
    minute=0,
    code: str = "",
):
    return NotifiedResult(
        outcome=outcome,
        object_type="invoice",
        keap_id=keap_id,
        recorded_at=NOON + timedelta(minutes=minute),
        reason=reason,
        invoice_number=number,
        destination="xero",
        reason_code=code,
    )


def summary(results: list[NotifiedResult]):
    """The summary sent at 07:00 UTC on 3 March, of the 24 hours before."""
    slot = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    return daily_digest(
        ADDRESSEE, date(2026, 3, 2), results, covers_from=slot - timedelta(hours=24), covers_to=slot
    )


def a_mixed_day() -> list[NotifiedResult]:
    return [
        result("created", "101", number="INV-101"),
        result("created", "102", number="INV-102", minute=1),
        result("updated", "103", number="INV-103", minute=2),
        result("failed", "104", "Xero says: the account code 999 is not valid", "INV-104", 3),
        result("skipped", "105", "the invoice total is zero", "INV-105", 4),
    ]


def test_the_daily_digest_counts_every_outcome_in_its_subject_and_body():
    email = summary(a_mixed_day())

    assert email is not None
    assert email.subject == (
        "InvoiceSync daily summary for Acme Ltd, 2026-03-02: 2 created, 1 updated, 1 skipped, "
        "1 failed"
    )
    assert "  created: 2\n  updated: 1\n  skipped: 1\n  failed: 1\n  held: 0" in email.text


def test_the_daily_digest_lists_failures_and_skips_with_reasons_and_activity_links():
    email = summary(a_mixed_day())

    assert email is not None
    assert "Failures:\n- invoice INV-104 (Keap id 104) at 2026-03-02 12:03 UTC: Xero says" in (
        email.text
    )
    assert "Skips:\n- invoice INV-105 (Keap id 105) at 2026-03-02 12:04 UTC: the invoice total" in (
        email.text
    )
    assert "http://admin.test/activity?tenant_id=acme1&q=INV-104" in email.text
    assert 'href="http://admin.test/activity?tenant_id=acme1&amp;q=INV-105"' in email.html
    assert "INV-101" not in email.text  # successes are counted, not listed


def test_the_daily_digest_of_a_clean_day_has_counts_and_no_exception_sections():
    email = summary([result("created", "1")])

    assert email is not None
    assert "Failures" not in email.text and "Skips" not in email.text
    assert email.subject.endswith(": 1 created")


def test_a_day_without_any_result_sends_no_digest():
    assert summary([]) is None


def test_an_exceptions_window_without_failures_or_skips_sends_nothing():
    clean = [result("created", "1"), result("updated", "2"), result("held", "3", "off")]

    assert exceptions_email(ADDRESSEE, clean) is None


def test_the_exceptions_email_holds_only_failures_and_skips():
    email = exceptions_email(ADDRESSEE, a_mixed_day())

    assert email is not None
    assert email.subject == "InvoiceSync: 1 skipped, 1 failed for Acme Ltd"
    assert "INV-104" in email.text and "INV-105" in email.text
    assert "INV-101" not in email.text and "created" not in email.text


def test_a_storm_lists_the_first_failures_and_links_the_activity_log_for_the_rest():
    storm = [result("failed", str(n), "Xero is down", minute=n % 60) for n in range(200)]

    email = exceptions_email(ADDRESSEE, storm)

    assert email is not None
    assert email.subject == "InvoiceSync: 200 failed for Acme Ltd"
    assert email.text.count("Xero is down") == MAX_LISTED
    assert f"and {200 - MAX_LISTED} more: " in email.text
    assert "activity?tenant_id=acme1&outcome=failed" in email.text


def test_times_are_shown_in_the_tenants_time_zone():
    addressee = Addressee("acme1", "Acme", "http://admin.test", timezone="America/New_York")

    email = exceptions_email(addressee, [result("failed", "7", "boom")])

    assert email is not None
    assert "at 2026-03-02 07:00 EST" in email.text


def test_html_escapes_what_the_providers_said():
    email = exceptions_email(ADDRESSEE, [result("failed", "7", "<script>alert(1)</script>")])

    assert email is not None
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html


def test_outcomes_unknown_to_this_version_are_still_counted():
    counts = outcome_counts([result("created", "1"), result("reversed", "2")])

    assert counts == {
        "created": 1,
        "updated": 0,
        "skipped": 0,
        "failed": 0,
        "held": 0,
        "reversed": 1,
    }


def routine_work() -> list[NotifiedResult]:
    return [
        result("skipped", "201", "already synced", "INV-201", code="already_written"),
        result(
            "skipped", "p9", "reverse_sync_echo: payment p9 came from us", code="reverse_sync_echo"
        ),
        result("skipped", "202", "unchanged: destination already has this content", "INV-202"),
    ]


def test_routine_work_alone_sends_no_exceptions_email():
    assert exceptions_email(ADDRESSEE, [result("created", "1"), *routine_work()]) is None


def test_the_exceptions_email_lists_the_refused_invoice_but_not_the_routine_work_beside_it():
    refused = result("failed", "7", "exception: the invoice is PAID", "INV-7", minute=5)

    email = exceptions_email(ADDRESSEE, [*routine_work(), refused])

    assert email is not None
    assert email.subject == "InvoiceSync: 1 failed for Acme Ltd"
    assert "INV-7" in email.text
    assert "INV-201" not in email.text and "p9" not in email.text and "INV-202" not in email.text


def test_the_daily_summary_counts_routine_work_in_a_sentence_and_lists_only_real_skips():
    email = summary([*a_mixed_day(), *routine_work()])

    assert email is not None
    assert email.subject.endswith(": 2 created, 1 updated, 1 skipped, 1 failed")
    assert "Not listed: 3 routine checks" in email.text
    assert "INV-105" in email.text and "INV-201" not in email.text


def test_the_daily_summary_states_the_24_hours_it_covers():
    email = summary([result("created", "1")])

    assert email is not None
    assert "from 2026-03-02 07:00 UTC to 2026-03-03 07:00 UTC" in email.text
