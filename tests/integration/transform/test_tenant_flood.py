"""One tenant's hook flood (5 deliveries x 1,000 ids Keap does not know) through the real hook
receiver, transform loop, Keap stand-in and activity consumer: another tenant's invoice goes
through while the flood is still being worked off (not behind it), and its activity log holds
nothing of the flood. `make bench` times the issue's full 20 x 1,000 (bench_tenant_flood)."""

from __future__ import annotations

import pytest

from tests.integration.transform.tenant_flood import (
    FIRST_FLOOD_ID,
    run_flood,
    transform_with_small_shares,
)

pytestmark = pytest.mark.infra

FLOOD_DELIVERIES = 5
FLOOD_IDS = 1_000


def test_a_hook_flood_does_not_delay_another_tenant(settings, redis_client):
    with transform_with_small_shares(settings, redis_client) as keap:
        outcome = run_flood(keap, redis_client, FLOOD_DELIVERIES, FLOOD_IDS)
    print(
        f"\nflood of {FLOOD_DELIVERIES}x{FLOOD_IDS} ids posted in {outcome.posted_seconds:.1f} s; "
        f"the other tenant's hook to invoice: {outcome.baseline_seconds:.2f} s before, "
        f"{outcome.flooded_seconds:.2f} s during"
    )

    # Worked off at the flooder's share (1 call/s), the flood outlasts the test by an hour:
    # queued behind it, the other tenant's invoice would have missed the reader's deadline.
    assert outcome.flood_ids_read < FLOOD_DELIVERIES * FLOOD_IDS / 2, outcome.flood_ids_read
    assert all(int(e.result.keap_id) < FIRST_FLOOD_ID for e in outcome.quiet_entries)
    assert len(outcome.flood_entries) == 1  # however many ids Keap did not know: one entry
