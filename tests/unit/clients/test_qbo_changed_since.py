"""QBO's CDC `changedSince` is a whole-second date-time: fractions are cut, never rounded up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from invoicesync.clients.qbo import cdc_changed_since


def test_microseconds_are_dropped_so_the_window_only_ever_grows():
    since = datetime(2026, 3, 10, 8, 15, 42, 999_999, tzinfo=UTC)
    assert cdc_changed_since(since) == "2026-03-10T08:15:42+00:00"


def test_a_time_in_another_zone_is_sent_as_utc():
    pacific = timezone(timedelta(hours=-8))
    since = datetime(2026, 3, 10, 0, 0, 0, 500_000, tzinfo=pacific)
    assert cdc_changed_since(since) == "2026-03-10T08:00:00+00:00"


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        cdc_changed_since(datetime(2026, 3, 10))
