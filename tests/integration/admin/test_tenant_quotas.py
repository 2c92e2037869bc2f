"""Per-tenant shares on Sync ID and /status, Redis memory on /status, and one broker client
for /status however often it is read; through the real admin app, Kafka and Redis."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from kafka.admin import KafkaAdminClient

from admin.admin_services import AdminServices
from admin.app import create_app
from admin.stores.activity import ActivityLog
from admin.stores.api_keys import Role
from invoicesync.domain.sync_rules import SkipReason
from invoicesync.events import SyncAction, SyncResult
from tests.integration.admin.conftest import Admin


@pytest.fixture
def limited(admin_settings):
    settings = replace(
        admin_settings,
        sync_id_tenant_burst=2,
        sync_id_tenant_per_second=0.01,
        status_tenant_burst=3,
        status_tenant_per_second=0.01,
    )
    services = AdminServices.from_settings(settings, publish_timeout_seconds=30)
    app = create_app(settings, services)
    operator = services.api_keys.issue(Role.OPERATOR, label="test operator")
    yield Admin(app.test_client(), services, operator.secret)
    services.close()


def test_sync_id_past_the_tenants_share_is_429_and_other_tenants_go_on(limited):
    busy, quiet = limited.create_tenant("Busy"), limited.create_tenant("Quiet")

    def sync(tenant: dict):
        return limited.client.post(
            f"/api/v1/tenants/{tenant['id']}/sync",
            json={"invoice_id": "5"},
            headers=limited.headers(),
        )

    answers = [sync(busy) for _ in range(3)]
    other = sync(quiet)

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[-1].get_json()["error"]["status"] == 429
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert other.status_code == 202


def test_status_past_the_tenants_share_is_429(limited):
    busy, quiet = limited.create_tenant("Busy"), limited.create_tenant("Quiet")

    answers = [
        limited.client.get(f"/api/v1/tenants/{busy['id']}/status", headers=limited.headers())
        for _ in range(4)
    ]
    other = limited.client.get(f"/api/v1/tenants/{quiet['id']}/status", headers=limited.headers())

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "Retry-After" in answers[-1].headers
    assert other.status_code == 200


def test_status_reads_lag_through_one_broker_client(admin, monkeypatch):
    opened = []
    real_init = KafkaAdminClient.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(kwargs.get("client_id"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(KafkaAdminClient, "__init__", counting_init)
    tenant = admin.create_tenant()

    answers = [
        admin.client.get(f"/api/v1/tenants/{tenant['id']}/status", headers=admin.headers())
        for _ in range(5)
    ]

    assert [a.status_code for a in answers] == [200] * 5
    assert all(a.get_json()["consumer_lag"] is not None for a in answers)
    assert opened == ["invoicesync-status"]


def test_status_shows_redis_memory_and_its_limit(admin, redis_client):
    tenant = admin.create_tenant()

    memory = admin.client.get(
        f"/api/v1/tenants/{tenant['id']}/status", headers=admin.headers()
    ).get_json()["redis_memory"]

    assert memory["policy"] == "noeviction"
    assert memory["max_bytes"] == int(redis_client.config_get("maxmemory")["maxmemory"]) > 0
    assert 0 < memory["used_bytes"] < memory["max_bytes"]
    assert memory["near_limit"] is False


def test_redis_near_its_limit_is_flagged_on_status(admin_settings):
    # The warning share lowered instead of filling the shared Redis to its limit.
    settings = replace(admin_settings, redis_memory_warning_ratio=1e-9)
    services = AdminServices.from_settings(settings, publish_timeout_seconds=30)
    try:
        app = create_app(settings, services)
        operator = services.api_keys.issue(Role.OPERATOR, label="test operator")
        near = Admin(app.test_client(), services, operator.secret)
        tenant = near.create_tenant()

        status = near.client.get(f"/api/v1/tenants/{tenant['id']}/status", headers=near.headers())

        assert status.get_json()["redis_memory"]["near_limit"] is True
    finally:
        services.close()


def test_ids_keap_does_not_know_cannot_push_real_entries_out_of_the_log(redis_client):
    tenant_id = f"t-{uuid.uuid4().hex[:8]}"
    log = ActivityLog(redis_client, retention=10)
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    for n in range(5):
        log.record(
            tenant_id,
            f"real-{n}",
            SyncResult("xero", "invoice", str(n), SyncAction.CREATED, start, invoice_number=f"{n}"),
        )
    for n in range(200):
        flood = SyncResult(
            "xero",
            "order",
            str(900_000 + n),
            SyncAction.SKIPPED,
            start + timedelta(seconds=n + 1),
            reason="not found in Keap",
            reason_code=SkipReason.NOT_FOUND_IN_KEAP.value,
        )
        log.record(tenant_id, f"flood-{n}", flood)
    assert not log.record(tenant_id, "flood-0", flood)  # a redelivered result counts once

    entries = log.page(tenant_id, limit=50).entries

    assert sorted(e.entry_id for e in entries if e.entry_id.startswith("real")) == [
        f"real-{n}" for n in range(5)
    ]
    collapsed = [e for e in entries if not e.entry_id.startswith("real")]
    assert len(collapsed) == 1
    assert "200 ids this hour" in collapsed[0].result.reason
