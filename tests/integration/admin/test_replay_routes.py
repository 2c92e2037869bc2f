"""Topic replay and dead-letter replay through the admin API and the real broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kafka import KafkaProducer

from invoicesync.events import (
    Envelope,
    EventType,
    KeapNotification,
    NotificationSource,
    Topic,
    envelope_for,
)
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.dead_letters import ConsumedRecord, dead_letter_envelope
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.kafka.topics import topic_name
from tests.integration.admin.test_admin_api import read_topic


def notification(tenant_id: str, object_id: str) -> Envelope:
    return envelope_for(
        EventType.KEAP_CHANGE_NOTIFIED,
        tenant_id,
        KeapNotification("invoice", object_id, NotificationSource.HOOK, datetime.now(UTC)),
    )


def test_replaying_a_topic_republishes_that_tenants_notifications_as_replays(admin, admin_settings):
    before = datetime.now(UTC) - timedelta(seconds=5)
    publisher = Publisher(admin_settings)
    publisher.publish_all(
        [
            Outgoing(Topic.KEAP_NOTIFICATIONS, notification("tenant-a", "1")),
            Outgoing(Topic.KEAP_NOTIFICATIONS, notification("tenant-b", "2")),
            Outgoing(Topic.KEAP_NOTIFICATIONS, notification("tenant-a", "3")),
        ]
    )
    publisher.close()

    response = admin.client.post(
        "/api/v1/replay",
        json={"topic": "keap.notifications", "tenant": "tenant-a", "from_time": before.isoformat()},
        headers=admin.headers(),
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"replayed": 2}
    messages = read_topic(admin_settings, Topic.KEAP_NOTIFICATIONS, 5)
    replays = [m for m in messages if m["payload"]["source"] == "replay"]
    assert sorted(m["payload"]["object_id"] for m in replays) == ["1", "3"]
    assert {m["tenant_id"] for m in replays} == {"tenant-a"}


def test_replay_is_for_operators_only(admin):
    tenant = admin.create_tenant()

    response = admin.client.post(
        "/api/v1/replay",
        json={
            "topic": "keap.notifications",
            "tenant": tenant["id"],
            "from_time": "2026-01-01T00:00:00Z",
        },
        headers=admin.headers(tenant["api_key"]),
    )

    assert response.status_code == 403


def test_a_dead_letter_is_listed_and_replayed_once(admin, admin_settings):
    original = notification("tenant-a", "77")
    record = ConsumedRecord(
        topic=topic_name(Topic.KEAP_NOTIFICATIONS, admin_settings),
        partition=0,
        offset=12,
        key=original.key,
        value=original.to_bytes(),
        timestamp_ms=0,
    )
    letter = dead_letter_envelope(
        record, tenant_id="tenant-a", error=ValueError("boom"), attempts=5, group_id="transform"
    )
    publisher = Publisher(admin_settings)
    publisher.publish(Topic.DEAD_LETTERS, letter)
    publisher.close()

    listed = admin.client.get("/api/v1/dlq?tenant=tenant-a", headers=admin.headers())
    [entry] = listed.get_json()["dead_letters"]
    first = admin.client.post(
        "/api/v1/dlq/replay", json={"offset": entry["offset"]}, headers=admin.headers()
    )
    second = admin.client.post(
        "/api/v1/dlq/replay", json={"offset": entry["offset"]}, headers=admin.headers()
    )
    relisted = admin.client.get("/api/v1/dlq", headers=admin.headers())

    assert entry["error_type"] == "ValueError"
    assert entry["replayed"] is False
    assert first.get_json()["replayed"] is True
    assert second.get_json()["replayed"] is False
    assert relisted.get_json()["dead_letters"][0]["replayed"] is True
    messages = read_topic(admin_settings, Topic.KEAP_NOTIFICATIONS, 1)
    assert [m["event_id"] for m in messages] == [original.event_id]
    assert messages[0]["payload"]["source"] == "replay"  # transform publishes it, unchanged too


def test_replaying_a_dead_letter_that_does_not_exist_is_400(admin):
    response = admin.client.post(
        "/api/v1/dlq/replay", json={"offset": 999}, headers=admin.headers()
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "offset"


def publish_dead_letters(settings, letters: list[tuple[str, str, datetime, str]]) -> None:
    """(tenant, consumer group, when dead-lettered, Keap invoice id) → the dead-letter topic,
    each stamped with its own time, in this order."""
    producer = KafkaProducer(**kafka_connection(settings), linger_ms=20)
    name = topic_name(Topic.DEAD_LETTERS, settings)
    for offset, (tenant_id, group_id, when, object_id) in enumerate(letters):
        original = notification(tenant_id, object_id)
        record = ConsumedRecord(
            topic=topic_name(Topic.KEAP_NOTIFICATIONS, settings),
            partition=0,
            offset=offset,
            key=original.key,
            value=original.to_bytes(),
            timestamp_ms=0,
        )
        letter = dead_letter_envelope(
            record, tenant_id=tenant_id, error=ValueError("boom"), attempts=5, group_id=group_id
        )
        producer.send(
            name,
            key=letter.key,
            value=letter.to_bytes(),
            partition=0,
            timestamp_ms=int(when.timestamp() * 1000),
        )
    producer.flush(timeout=60)
    producer.close()


def test_dead_letters_of_a_tenant_group_and_time_range_page_and_replay_past_5000(
    admin, admin_settings
):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    hour = timedelta(hours=1)
    wanted = [("tenant-a", "invoicesync-transform", start, str(n)) for n in range(30)]
    filler = [("tenant-b", "invoicesync-transform", start + hour, "0")] * 5_100
    other_group = [("tenant-a", "invoicesync-xero-writer", start + hour, "x")] * 10
    too_late = [("tenant-a", "invoicesync-transform", start + 2 * hour, "late")] * 5
    publish_dead_letters(admin_settings, wanted + filler + other_group + too_late)
    query = {
        "tenant": "tenant-a",
        "group": "invoicesync-transform",
        "since": (start - hour).isoformat(),
        "until": (start + 2 * hour).isoformat(),
    }

    first = admin.client.get(
        "/api/v1/dlq", query_string=query | {"limit": 20}, headers=admin.headers()
    )
    page_one = first.get_json()
    second = admin.client.get(
        "/api/v1/dlq",
        query_string=query | {"limit": 20, "before": page_one["next_before"]},
        headers=admin.headers(),
    )
    replayed = admin.client.post("/api/v1/dlq/replay-all", json=query, headers=admin.headers())
    again = admin.client.post("/api/v1/dlq/replay-all", json=query, headers=admin.headers())

    assert first.status_code == 200, page_one
    listed = page_one["dead_letters"] + second.get_json()["dead_letters"]
    assert [letter["offset"] for letter in listed] == list(range(29, -1, -1))  # newest first
    assert second.get_json()["next_before"] is None
    assert replayed.get_json() == {"matched": 30, "replayed": 30, "already_replayed": 0}
    assert again.get_json() == {"matched": 30, "replayed": 0, "already_replayed": 30}
    messages = read_topic(admin_settings, Topic.KEAP_NOTIFICATIONS, 30)
    assert sorted(int(m["payload"]["object_id"]) for m in messages) == list(range(30))
    assert {m["payload"]["source"] for m in messages} == {"replay"}


def test_a_dead_letter_range_that_runs_backwards_is_400_naming_until(admin):
    response = admin.client.post(
        "/api/v1/dlq/replay-all",
        json={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        headers=admin.headers(),
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "until"
