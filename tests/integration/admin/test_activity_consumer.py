"""The activity consumer fills the tenant's log from sync.results; the log pages and filters."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from admin.activity_consumer import activity_loop
from admin.stores.activity import ActivityLog
from invoicesync.events import EventType, SyncAction, SyncResult, Topic, envelope_for
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.stores.redis_connection import redis_from_settings
from tests.waiting import DEADLINE_SECONDS

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def result(number: int, action: SyncAction) -> SyncResult:
    return SyncResult(
        destination="xero",
        object_type="invoice",
        keap_id=str(1000 + number),
        action=action,
        recorded_at=START + timedelta(minutes=number),
        reason="" if action is not SyncAction.FAILED else "account 999 is archived",
        invoice_number=f"INV-{number:04d}",
    )


def test_sync_results_become_a_paged_filterable_log(settings, unique_name):
    actions = [SyncAction.CREATED, SyncAction.FAILED, SyncAction.SKIPPED]
    envelopes = [
        envelope_for(EventType.SYNC_RESULT_RECORDED, "tenant-a", result(n, actions[n % 3]))
        for n in range(9)
    ]
    other_tenant = envelope_for(
        EventType.SYNC_RESULT_RECORDED, "tenant-b", result(99, SyncAction.CREATED)
    )
    publisher = Publisher(settings)
    publisher.publish_all(
        [Outgoing(Topic.SYNC_RESULTS, e) for e in [*envelopes, envelopes[0], other_tenant]]
    )
    publisher.close()
    log = ActivityLog(redis_from_settings(settings))
    loop = activity_loop(settings, group_id=f"{unique_name}-activity")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (
        log.totals("tenant-a")[SyncAction.CREATED.value] < 3
        or not log.totals("tenant-b")[SyncAction.CREATED.value]
    ):
        assert time.monotonic() < deadline, "the activity consumer did not catch up"
        loop.poll_once()
    loop.close()

    first = log.page("tenant-a", limit=4)
    second = log.page("tenant-a", limit=4, cursor=first.next_cursor)
    third = log.page("tenant-a", limit=4, cursor=second.next_cursor)
    failed = log.page("tenant-a", outcome=SyncAction.FAILED)
    found = log.page("tenant-a", query="inv-0004")
    recent = log.page("tenant-a", since=START + timedelta(minutes=7))
    part_of_a_number = log.page("tenant-a", contains="v-000", limit=3)
    part_of_a_reason = log.page("tenant-a", contains="ARCHIVED", limit=2)

    numbers = [e.result.invoice_number for e in first.entries + second.entries + third.entries]
    assert numbers == [f"INV-{n:04d}" for n in range(8, -1, -1)]  # newest first, no repeats
    assert third.next_cursor is None
    assert [e.result.keap_id for e in failed.entries] == ["1007", "1004", "1001"]
    assert [e.result.keap_id for e in found.entries] == ["1004"]
    assert [e.result.keap_id for e in recent.entries] == ["1008", "1007"]
    assert [e.result.keap_id for e in part_of_a_number.entries] == ["1008", "1007", "1006"]
    assert [e.result.keap_id for e in part_of_a_reason.entries] == ["1007", "1004"]
    assert log.totals("tenant-a") == {
        "created": 3,
        "updated": 0,
        "skipped": 3,
        "failed": 3,
        "held": 0,
    }
    assert log.hourly_counts("tenant-a") == {
        "2026-01-01T12": {"created": 3, "failed": 3, "skipped": 3}
    }


def test_the_log_keeps_only_the_newest_entries(redis_client, unique_name):
    log = ActivityLog(redis_client, retention=5)

    for number in range(8):
        log.record(unique_name, f"e{number}", result(number, SyncAction.CREATED))

    page = log.page(unique_name, limit=50)
    assert [e.entry_id for e in page.entries] == ["e7", "e6", "e5", "e4", "e3"]
    assert log.page(unique_name, query="1000").entries == []


def outcome_of(keap_id: str, minute: int, action: SyncAction, **changes) -> SyncResult:
    return replace(result(minute, action), keap_id=keap_id, **changes)


def test_an_object_is_failing_until_a_later_outcome_settles_it(redis_client, unique_name):
    log = ActivityLog(redis_client)
    outcomes = [
        outcome_of("1001", 1, SyncAction.FAILED),
        outcome_of("1001", 3, SyncAction.CREATED),  # settled
        outcome_of("1004", 4, SyncAction.FAILED),
        outcome_of("1004", 5, SyncAction.HELD),  # held settles nothing
        outcome_of("1006", 6, SyncAction.FAILED),
        outcome_of("1006", 2, SyncAction.CREATED),  # older, arriving late: still failing
        # A ReverseSync failure names a ledger payment: nothing Keap can be asked for again.
        outcome_of("1007", 7, SyncAction.FAILED, object_type="reverse_payment"),
    ]
    for number, outcome in enumerate(outcomes):
        log.record(unique_name, f"e{number}", outcome)

    failing = log.failing(unique_name)
    recent = log.failing(unique_name, since=START + timedelta(minutes=5))
    log.forget_failures(unique_name, recent)

    assert [(f.object_type, f.keap_id) for f in failing] == [
        ("invoice", "1004"),
        ("invoice", "1006"),
    ]
    assert [f.keap_id for f in recent] == ["1006"]
    assert [f.keap_id for f in log.failing(unique_name)] == ["1004"]
