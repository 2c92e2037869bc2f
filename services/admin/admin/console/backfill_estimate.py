"""How long a backfill takes at the destination's rate limits, and how far along it is."""

from __future__ import annotations

import math

from invoicesync.domain.canonical import Destination

# Invoices a destination accepts per minute within its limits: Xero takes 50 invoices per
# call and 60 calls a minute per organisation; QBO 30 per batch and 40 batches a minute.
INVOICES_PER_MINUTE = {Destination.XERO: 50 * 60, Destination.QBO: 30 * 40}


def percent_done(published: int, estimated_total: int | None, finished: bool) -> int:
    if finished:
        return 100
    if not estimated_total:
        return 0
    return min(99, math.floor(100 * published / estimated_total))


def time_left(remaining: int, destination: Destination) -> str:
    """In words: 'under a minute', 'about 4 minutes', 'about 2 hours'."""
    minutes = math.ceil(max(remaining, 0) / INVOICES_PER_MINUTE[destination])
    if minutes <= 1:
        return "under a minute"
    if minutes < 90:
        return f"about {minutes} minutes"
    return f"about {round(minutes / 60)} hours"
