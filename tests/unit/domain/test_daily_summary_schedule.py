"""When a daily-mode tenant's summary is due, with the clock moved by the test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from invoicesync.domain.daily_summary_schedule import (
    due_summary_slot,
    first_slot_after_switch,
    latest_slot,
    next_slot,
)

ZONE = "America/New_York"  # UTC-5 in January
HOUR = 7


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in January 2026, New York time, as UTC."""
    return datetime(2026, 1, day, tzinfo=UTC) + timedelta(hours=hour + 5, minutes=minute)


def due(now, *, since, last=None, oldest=None):
    return due_summary_slot(
        now,
        hour=HOUR,
        timezone=ZONE,
        daily_since=since,
        last_summary_on=last,
        oldest_recorded_at=oldest,
    )


def test_a_tenant_switched_on_in_the_afternoon_gets_nothing_that_day():
    switched = at(10, 14)
    clock = switched
    while clock < at(11, 7):
        assert due(clock, since=switched, oldest=switched + timedelta(minutes=1)) is None
        clock += timedelta(minutes=17)


def test_its_first_summary_is_due_at_its_hour_the_next_day_in_its_time_zone():
    switched = at(10, 14)

    slot = due(at(11, 7), since=switched, oldest=switched + timedelta(minutes=1))

    assert slot is not None
    assert slot.day == date(2026, 1, 11)
    assert slot.at == datetime(2026, 1, 11, 12, 0, tzinfo=UTC)
    assert slot.covers_from == datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert due(at(11, 6, 59), since=switched, oldest=switched) is None


def test_a_tenant_switched_on_before_its_hour_still_waits_for_the_next_day():
    switched = at(10, 5)

    assert due(at(10, 7), since=switched, oldest=switched) is None
    assert due(at(10, 23), since=switched, oldest=switched) is None
    assert due(at(11, 7), since=switched, oldest=switched) is not None


def test_one_summary_per_day():
    since = at(1, 12)

    assert due(at(11, 9), since=since, last=date(2026, 1, 11), oldest=at(11, 6)) is None
    assert due(at(12, 7), since=since, last=date(2026, 1, 11), oldest=at(11, 6)) is not None


def test_results_recorded_after_todays_hour_wait_for_tomorrow():
    since = at(1, 12)
    # Nothing for days, then a result in the afternoon: not a near-empty summary at once.
    assert due(at(11, 15), since=since, last=date(2026, 1, 8), oldest=at(11, 14)) is None
    assert due(at(12, 7), since=since, last=date(2026, 1, 8), oldest=at(11, 14)) is not None


def test_nothing_waiting_sends_nothing():
    assert due(at(11, 7), since=at(1, 12), oldest=None) is None


def test_a_sender_that_was_down_at_the_hour_sends_the_summary_when_it_is_back():
    slot = due(at(11, 16), since=at(1, 12), last=date(2026, 1, 10), oldest=at(11, 3))

    assert slot is not None and slot.day == date(2026, 1, 11)


def test_slots_follow_the_time_zone_across_a_daylight_saving_change():
    # New York moves to UTC-4 on 8 March 2026.
    assert latest_slot(datetime(2026, 3, 7, 13, tzinfo=UTC), 7, ZONE).at == datetime(
        2026, 3, 7, 12, tzinfo=UTC
    )
    assert next_slot(datetime(2026, 3, 7, 13, tzinfo=UTC), 7, ZONE).at == datetime(
        2026, 3, 8, 11, tzinfo=UTC
    )


def test_the_first_slot_is_on_the_local_day_after_the_switch():
    # 02:00 UTC on the 11th is still the 10th in New York.
    first = first_slot_after_switch(datetime(2026, 1, 11, 2, tzinfo=UTC), 7, ZONE)

    assert first.day == date(2026, 1, 11)
