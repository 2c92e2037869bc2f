"""A backlog of Keap orders through the running system while the xero-writer is SIGKILLed and
Redis falls back to an older snapshot, then a replay of `canonical.events` from the start:
every Keap invoice is in Xero exactly once after each."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import redis
import requests

from tests.e2e.journey import AdminApi, onboard, retire
from tests.e2e.ledgers import XeroLedger
from tests.integration.transform.keap_stand_in import KeapStandIn
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

BACKLOG = 100
ONE_LINE = [{"name": "Consulting", "quantity": 1, "item_type": "OTHER", "price_per_unit": "40.00"}]


@pytest.fixture
def tenant(stack):
    running = onboard(stack, "xero", ledger_settings={"invoice_status": "AUTHORISED"})
    yield running
    retire(stack, running)


@pytest.fixture
def slow_xero(stack):
    """100 ms a call: the backlog takes long enough for a kill to land in the middle of it."""
    faults = f"{stack.xero_url}/_sandbox/faults"
    requests.put(faults, json={"latency_ms": 100}, timeout=5)
    yield
    requests.put(faults, json={"latency_ms": 0}, timeout=5)


def snapshot(client: redis.Redis) -> dict[bytes, tuple[bytes, int]]:
    """Every key of the stack's database, the way an RDB snapshot keeps it."""
    saved = {key: (client.dump(key), client.pttl(key)) for key in client.scan_iter(count=1000)}
    # A key that expired between the scan and its dump (a lock, a pause) is not in a snapshot.
    return {key: (value, ttl) for key, (value, ttl) in saved.items() if value is not None}


def restart_redis_from(client: redis.Redis, saved: dict[bytes, tuple[bytes, int]]) -> None:
    """Redis lost everything written since `saved`, as a restart from that snapshot would: one
    transaction, so no service sees an empty database in between (a restarting Redis refuses
    connections, which the services retry)."""
    pipe = client.pipeline(transaction=True)
    pipe.flushdb()
    for key, (value, ttl) in saved.items():
        pipe.restore(key, max(ttl, 0), value, replace=True)
    pipe.execute()


def counts_by_number(ledger: XeroLedger, numbers: list[str]) -> Counter:
    return Counter(invoice.number for invoice in ledger.invoices(*numbers))


def test_a_killed_writer_a_redis_loss_and_a_full_replay_leave_each_invoice_once(
    stack, keap: KeapStandIn, tenant, slow_xero
):
    ledger = XeroLedger(stack.xero_url, tenant.ledger_id)
    client = redis.Redis.from_url(stack.settings.redis_url)
    started = datetime.now(UTC) - timedelta(seconds=5)
    before_backlog = snapshot(client)
    numbers = [str(keap.order(ONE_LINE)["invoice_id"]) for _ in range(BACKLOG)]

    assert wait_for(lambda: len(counts_by_number(ledger, numbers)) >= 20)
    writer = stack.process("xero-writer")
    writer.kill()
    restart_redis_from(client, before_backlog)
    written_before_kill = len(counts_by_number(ledger, numbers))
    writer.restart()
    everything = wait_for(lambda: len(counts_by_number(ledger, numbers)) == BACKLOG, step=0.5)

    assert written_before_kill < BACKLOG, "the kill came after the whole backlog"
    missing = sorted(set(numbers) - set(counts_by_number(ledger, numbers)))
    assert everything, f"{BACKLOG - len(missing)} of {BACKLOG} in Xero; missing {missing}"
    assert set(counts_by_number(ledger, numbers).values()) == {1}

    operator = AdminApi(stack.admin_url, stack.operator_key)
    skipped_before = tenant.api.ok("GET", f"/tenants/{tenant.id}/status")["counts"]["skipped"]
    replayed = operator.ok(
        "POST",
        "/replay",
        {"topic": "canonical.events", "tenant": tenant.id, "from_time": started.isoformat()},
    )["replayed"]

    def replay_seen() -> bool:
        counts = tenant.api.ok("GET", f"/tenants/{tenant.id}/status")["counts"]
        return counts["skipped"] >= skipped_before + BACKLOG

    assert replayed >= BACKLOG
    assert wait_for(replay_seen, step=0.5)
    assert set(counts_by_number(ledger, numbers).values()) == {1}
    assert len(counts_by_number(ledger, numbers)) == BACKLOG
    stack.check_all_alive()
    client.close()
