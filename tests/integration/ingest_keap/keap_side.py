"""Seeding Keap through its create-order endpoint, reading the notifications topic, and the
environment a runner subprocess reads its settings from."""

from __future__ import annotations

from dataclasses import fields

import requests

from invoicesync.events import Topic
from invoicesync.settings import Settings
from tests.integration.topic_reading import read_topic
from tests.integration.transform.keap_stand_in import KeapStandIn
from tests.waiting import DEADLINE_SECONDS


def seed_orders(keap: KeapStandIn, count: int) -> list[str]:
    """`count` one-line orders created through Keap's v2 create-order endpoint."""
    token = keap.control("POST", "/_sandbox/token", {"app_id": "seed"})["access_token"]
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"

        def post(path: str, body: dict) -> dict:
            response = session.post(f"{keap.v2}{path}", json=body, timeout=10)
            assert response.status_code == 201, response.text
            return response.json()

        contact = post("/contacts", {"given_name": "Ann", "family_name": "Lee"})["id"]
        return [
            str(
                post(
                    "/orders",
                    {
                        "contact_id": contact,
                        "order_time": "2026-03-02T10:00:00Z",
                        "order_title": f"Order {number}",
                        "order_type": "OFFLINE",
                        "order_items": [
                            {
                                "name": "Fee",
                                "quantity": 1,
                                "item_type": "FEE",
                                "price_per_unit": 10 + number,
                            }
                        ],
                    },
                )["id"]
            )
            for number in range(count)
        ]


def read_notifications(
    settings: Settings, tenant_id: str, *, expected: int = 0, timeout: float = DEADLINE_SECONDS
) -> list[dict]:
    """Every notification of the tenant, once at least `expected` are there and all is read."""
    return read_topic(
        settings, Topic.KEAP_NOTIFICATIONS, expected, tenant_id=tenant_id, timeout=timeout
    )


def ids_from(messages: list[dict], source: str) -> list[str]:
    return [m["payload"]["object_id"] for m in messages if m["payload"]["source"] == source]


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment under which `Settings.from_env()` reads back these settings."""
    environment = {}
    for spec in fields(settings):
        value = getattr(settings, spec.name)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        environment[f"INVOICESYNC_{spec.name.upper()}"] = text
    return environment
