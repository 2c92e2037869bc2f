"""The Kafka broker restarted mid-stream, on the broker and stack of these tests' own (the run's
shared broker is never stopped): Keap orders flow before, during and after a broker outage longer
than the consumers' 10 s group session. Afterwards every order is in Xero exactly once, nothing
was dead-lettered, every process started before the outage is still running (none exited, none
was restarted) and Keap's hooks are active again; no operator did anything.

While the broker is away the hook receiver answers Keap 503, and the stand-in's scaled-down
retry schedule (3 retries over 3.5 s, for Keap's 30-60 s, 5 min and 30 min) runs out long before
the broker is back, so the hooks go Inactive: the poller re-verifies them and polls Keap over the
gap as soon as the receiver sees the broker again.
"""

from __future__ import annotations

import pytest

from tests.e2e.journey import retire, verified_hooks
from tests.e2e.ledgers import XeroLedger
from tests.resilience.test_outages import (
    HOOK_KEYS,
    dead_letters_of,
    every_order_once,
    orders_during,
    xero_tenant,
)
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]

# Longer than the consumers' session timeout (10 s): the group's members are gone from the
# broker's point of view by the time it is back, and must rejoin.
BROKER_OUTAGE_SECONDS = 15.0


def test_broker_restarted_mid_stream_loses_no_order_and_no_process(
    own_broker, outage_stack, keap, stack_redis
):
    tenant = xero_tenant(outage_stack, keap, stack_redis)
    ledger = XeroLedger(outage_stack.xero_url, tenant.ledger_id)
    before = orders_during(keap, 4)
    own_broker.stop()
    try:
        during = orders_during(keap, BROKER_OUTAGE_SECONDS)
        down_while_ordering = [p.name for p in outage_stack.processes.values() if not p.alive()]
    finally:
        # A JVM start on a busy two-core machine can take longer than the script's 90 s.
        own_broker.env["KAFKA_READY_TIMEOUT_SECONDS"] = "200"
        own_broker.start()
    after = orders_during(keap, 6)
    numbers = before + during + after
    found = every_order_once(ledger, numbers)
    letters = dead_letters_of(outage_stack, tenant)
    hooks_back = wait_for(lambda: len(verified_hooks(outage_stack, tenant)) >= HOOK_KEYS)
    hooks = verified_hooks(outage_stack, tenant)
    refused = [
        d
        for d in keap.control("GET", "/_sandbox/webhooks/deliveries")
        if d["url"].startswith(tenant.hook_url) and d["status"] != 200 and not d["dropped"]
    ]
    print(
        f"broker down {BROKER_OUTAGE_SECONDS:.0f} s (plus its restart): {len(numbers)} orders "
        f"({len(during)} while down), {len(found)} in Xero, max copies {max(found.values())}, "
        f"dead letters {len(letters)}, hook deliveries answered 503 {len(refused)}, "
        f"hooks verified {len(hooks)}, processes exited while down {down_while_ordering}"
    )

    assert set(found.values()) == {1}
    assert letters == []
    assert hooks_back, f"hooks not re-verified after the outage: {hooks}"
    assert down_while_ordering == []
    outage_stack.check_all_alive()
    retire(outage_stack, tenant)
