"""Keap hook deliveries become one notification per distinct id, typed by the event key."""

from __future__ import annotations

import pytest

from ingest.hook_deliveries import HookDeliverySchema, notices_for, object_type_for


@pytest.mark.parametrize(
    ("event_key", "object_type"),
    [
        ("order.add", "order"),
        ("order.delete", "order"),
        ("invoice.edit", "invoice"),
        ("invoice.payment.add", "payment"),
        ("contact.edit", None),
        ("product.add", None),
    ],
)
def test_the_event_key_says_what_the_ids_are(event_key, object_type):
    assert object_type_for(event_key) == object_type


def test_a_repeated_id_in_one_delivery_is_one_notice():
    delivery = HookDeliverySchema().load(
        {
            "event_key": "invoice.add",
            "object_keys": [
                {"id": 5, "timestamp": "2026-01-01T00:00:00.000Z"},
                {"id": 5, "timestamp": "2026-01-01T00:00:00.000Z"},
                {"id": "6", "apiUrl": ""},
            ],
        }
    )

    notices = notices_for("tenant-a", delivery)

    assert [n.envelope.payload["object_id"] for n in notices] == ["5", "6"]
    assert all(n.envelope.tenant_id == "tenant-a" for n in notices)


def test_another_timestamp_on_the_same_id_is_the_same_notice():
    # The caller's timestamp is not trusted for de-duplication: the window's expiry is what
    # lets a later change of the same id through (tests/integration/ingest/test_hook_quotas.py).
    first = notices_for(
        "t", {"event_key": "order.edit", "object_keys": [{"id": 1, "timestamp": "a"}]}
    )
    later = notices_for(
        "t", {"event_key": "order.edit", "object_keys": [{"id": 1, "timestamp": "b"}]}
    )

    assert first[0].seen_key == later[0].seen_key
