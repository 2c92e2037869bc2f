"""The xero-writer service through the real broker: throttled tenants, replays, a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace

import pytest
import requests

from invoicesync.crypto import TokenCipher
from invoicesync.domain.canonical import Contact
from invoicesync.events import EventType, Topic, envelope_for
from invoicesync.kafka.topics import group_name, topic_name
from invoicesync.stores.tokens import TokenStore
from tests.infrastructure import kafka_environment
from tests.integration.topic_reading import read_topic
from tests.unit.domain.canonical_builders import invoice, product
from tests.waiting import finished_with_everything_published, wait_for
from xero_writer.main import GROUP_ID, build_loop

pytestmark = pytest.mark.infra


def _event(tenant_id, keap_id, contact_number=None):
    canonical = replace(
        invoice(product("100.00")),
        tenant_id=tenant_id,
        keap_invoice_id=keap_id,
        invoice_number=f"K-{keap_id}",
        contact=Contact(f"c{contact_number or keap_id}", f"Customer {contact_number or keap_id}"),
        content_hash=f"h{keap_id}",
    )
    return envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)


def _numbers(stack, tenant_id):
    rows = stack.client._get(tenant_id, "/Invoices").get("Invoices", [])
    return [row["InvoiceNumber"] for row in rows]


def _numbers_unmetered(stack, tenant_id):
    """What the organisation holds, read without spending the tenant's API budget: a test that
    polls must not slow down the writer it watches."""
    organisation = TokenStore(stack.redis, TokenCipher(stack.settings.token_encryption_key)).load(
        "xero", tenant_id
    )
    token = stack.control(
        "POST",
        "/token",
        json={"client_id": "invoicesync-demo", "tenant_id": organisation.external_id},
    )["access_token"]
    rows = requests.get(
        f"{stack.sandbox_url}/api.xro/2.0/Invoices",
        headers={
            "Authorization": f"Bearer {token}",
            "xero-tenant-id": organisation.external_id,
            "Accept": "application/json",
        },
        timeout=10,
    ).json()["Invoices"]
    return [row["InvoiceNumber"] for row in rows]


class _RunningLoop:
    def __init__(self, settings, group_id):
        self.loop = build_loop(settings, group_id)
        self.thread = threading.Thread(
            target=lambda: self.loop.run(install_signal_handlers=False), daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.loop.stop()
        self.thread.join(timeout=15)


def _invoices_written_for(stack, tenant_id) -> int:
    """Successful invoice PUTs for the tenant's organisation, from the sandbox's request log
    (reading the organisation itself would spend the budget the storm has exhausted)."""
    organisation = stack.client._xero_tenant_id_for(tenant_id)
    return sum(
        1
        for entry in stack.control("GET", "/requests", params={"limit": 10_000})
        if entry["method"] == "PUT"
        and entry["path"].endswith("/Invoices")
        and entry["status"] == 200
        and entry["headers"].get("Xero-Tenant-Id", entry["headers"].get("xero-tenant-id"))
        == organisation
    )


def _exhaust_minute_limit(stack, tenant_id):
    """Spend the organisation's 60 calls of this minute behind the writer's back."""
    connection = stack.client._xero_tenant_id_for(tenant_id)
    token = requests.post(
        f"{stack.sandbox_url}/_sandbox/token",
        json={"client_id": "invoicesync-demo", "tenant_id": connection},
        timeout=5,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": connection}
    headers["Accept"] = "application/json"
    statuses = {
        requests.get(f"{stack.sandbox_url}/api.xro/2.0/Organisation", headers=headers).status_code
        for _ in range(61)
    }
    assert 429 in statuses


def test_a_429_storm_on_one_tenant_does_not_hold_back_another(xero_stack):
    stormy = xero_stack.connect_tenant("stormy")
    calm = xero_stack.connect_tenant("calm")
    _exhaust_minute_limit(xero_stack, stormy)
    with _RunningLoop(xero_stack.settings, "storm"):
        xero_stack.publisher.publish(Topic.CANONICAL_EVENTS, _event(stormy, "s1"))
        xero_stack.publisher.publish(Topic.CANONICAL_EVENTS, _event(calm, "c1"))
        arrived = wait_for(lambda: _numbers(xero_stack, calm) == ["K-c1"])
        # Xero holds the stormy tenant back for the rest of its minute: a calm invoice that
        # waited behind it would come only after the stormy one.
        stormy_written_meanwhile = _invoices_written_for(xero_stack, stormy)
        calm_written = _invoices_written_for(xero_stack, calm)

    assert arrived
    assert (calm_written, stormy_written_meanwhile) == (1, 0)


def test_replaying_the_topic_from_the_start_creates_nothing_new(xero_stack):
    tenant_id = xero_stack.connect_tenant("replayed")
    for number in range(20):
        xero_stack.publisher.publish(
            Topic.CANONICAL_EVENTS, _event(tenant_id, f"r{number}", number % 4)
        )
    with _RunningLoop(xero_stack.settings, "first"):
        assert wait_for(lambda: len(_numbers(xero_stack, tenant_id)) == 20)
    calls_before = sum(xero_stack.control("GET", "/counters").values())

    with _RunningLoop(xero_stack.settings, "replay-from-start"):
        _finish_published_events(xero_stack.settings, "replay-from-start")

    assert sorted(_numbers(xero_stack, tenant_id)) == sorted(f"K-r{n}" for n in range(20))
    assert sum(xero_stack.control("GET", "/counters").values()) - calls_before <= 1


def _finish_published_events(settings, group_id: str) -> None:
    finished_with_everything_published(
        settings,
        group_name(group_id, settings),
        [topic_name(Topic.CANONICAL_EVENTS, settings)],
    )


def test_a_writer_killed_mid_backlog_and_restarted_creates_each_invoice_once(xero_stack):
    tenant_id = xero_stack.connect_tenant("killed")
    for number in range(150):
        xero_stack.publisher.publish(
            Topic.CANONICAL_EVENTS, _event(tenant_id, f"k{number}", number % 10)
        )
    xero_stack.control("PUT", "/faults", json={"latency_ms": 150})
    xero_stack.control("PUT", "/limits", json={"enabled": False})  # the test's own polling
    env = _service_environment(xero_stack.settings)
    count = lambda: len(_numbers_unmetered(xero_stack, tenant_id))  # noqa: E731

    first = subprocess.Popen([sys.executable, "-m", "xero_writer.main"], env=env)
    try:
        assert wait_for(lambda: count() >= 50, step=0.2)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        partial = count()
        second = subprocess.Popen([sys.executable, "-m", "xero_writer.main"], env=env)
        try:
            assert wait_for(lambda: count() >= 150, step=0.5)
            _finish_published_events(xero_stack.settings, GROUP_ID)
        finally:
            second.terminate()
            second.wait(timeout=20)
    finally:
        xero_stack.control("PUT", "/limits", json={"enabled": True})
        xero_stack.control("PUT", "/faults", json={"latency_ms": 0})
        if first.poll() is None:
            first.kill()

    numbers = _numbers_unmetered(xero_stack, tenant_id)
    assert partial < 150
    assert len(numbers) == 150
    assert sorted(numbers) == sorted(f"K-k{n}" for n in range(150))


def _service_environment(settings) -> dict[str, str]:
    env = dict(os.environ)
    env |= {
        **kafka_environment(settings),
        "REDIS_URL": settings.redis_url,
        "INVOICESYNC_TOPIC_PREFIX": settings.topic_prefix,
        "INVOICESYNC_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "INVOICESYNC_XERO_API_BASE": settings.xero_api_base,
        "INVOICESYNC_XERO_TOKEN_URL": settings.xero_token_url,
        "INVOICESYNC_XERO_CLIENT_ID": settings.xero_client_id,
        "INVOICESYNC_XERO_CLIENT_SECRET": settings.xero_client_secret,
        "INVOICESYNC_TOKEN_ENCRYPTION_KEY": settings.token_encryption_key,
        "INVOICESYNC_LOG_LEVEL": "WARNING",
    }
    return env


def test_xero_down_past_the_retry_budget_dead_letters_with_a_failed_entry_in_the_activity_log(
    xero_stack,
):
    tenant_id = xero_stack.connect_tenant("down")
    xero_stack.control("PUT", "/faults", json={"error_rate": 1.0, "endpoints": ["/api.xro/"]})
    one_second_budget = replace(xero_stack.settings, consumer_retry_budget_hours=1 / 3600)
    with _RunningLoop(one_second_budget, "budget"):
        xero_stack.publisher.publish(Topic.CANONICAL_EVENTS, _event(tenant_id, "d1"))
        letters = read_topic(xero_stack.settings, Topic.DEAD_LETTERS, 1, tenant_id=tenant_id)
        results = read_topic(xero_stack.settings, Topic.SYNC_RESULTS, 1, tenant_id=tenant_id)
    xero_stack.control("PUT", "/faults", json={"error_rate": 0.0, "endpoints": []})

    assert len(letters) == 1 and letters[0]["payload"]["error"]["type"] == "Transient"
    assert letters[0]["payload"]["attempts"] > 1
    [failed] = [r["payload"] for r in results]
    assert (failed["action"], failed["object_type"], failed["keap_id"]) == (
        "failed",
        "invoice",
        "d1",
    )
    assert failed["destination"] == "xero" and "500" in failed["reason"]
