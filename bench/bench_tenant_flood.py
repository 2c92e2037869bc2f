"""One tenant's hook flood of 20 deliveries x 1,000 ids Keap does not know, while another
tenant's invoice goes through the hook receiver and transform: that invoice's hook-to-event
time before and during the flood (the issue's bound: no more than 5 s more)."""

from __future__ import annotations

import redis

from bench.figures import Figure
from bench.infrastructure import running_settings
from tests.integration.transform.tenant_flood import run_flood, transform_with_small_shares

DELIVERIES = 20
IDS = 1_000


def run() -> list[Figure]:
    with running_settings(topic_partitions=3) as settings:
        client = redis.Redis.from_url(settings.redis_url)
        try:
            with transform_with_small_shares(settings, client) as keap:
                outcome = run_flood(keap, client, DELIVERIES, IDS)
        finally:
            client.close()
    return [
        Figure("flood_ids_posted", DELIVERIES * IDS, "ids"),
        Figure("flood_post_seconds", round(outcome.posted_seconds, 2), "s"),
        Figure("other_tenant_hook_to_event_before", round(outcome.baseline_seconds, 3), "s"),
        Figure("other_tenant_hook_to_event_during", round(outcome.flooded_seconds, 3), "s"),
        Figure(
            "other_tenant_delay_by_flood",
            round(outcome.flooded_seconds - outcome.baseline_seconds, 3),
            "s",
        ),
    ]
