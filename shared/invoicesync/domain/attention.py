"""Which sync results a bookkeeper must act on, and which are routine bookkeeping.

Exceptions-only emails carry the first kind; the second shows in the activity log only. A
failure always needs attention; a skip needs it only when it is one of the seed product's
user-visible skips (an overpayment, a zero total, an invoice synced before), which the tenant's
options asked for and which leave the ledger different from Keap.
"""

from __future__ import annotations

from invoicesync.domain.sync_rules import SkipReason

NOTIFIED_SKIPS = frozenset(
    {SkipReason.OVERPAYMENT, SkipReason.ZERO_TOTAL, SkipReason.ALREADY_SYNCED}
)
ROUTINE_SKIPS = frozenset(SkipReason) - NOTIFIED_SKIPS
_CODES = frozenset(reason.value for reason in SkipReason)

# Results recorded before skips carried a code: the writers' and ReverseSync's wording.
_ROUTINE_WORDING = (
    "already synced",
    "already recorded in keap",
    "destination already has this content",
    "not found in keap",
)


def skip_code(reason_code: str, reason: str) -> str:
    """The skip's code; for a result without one, the code its reason starts with, if any."""
    if reason_code:
        return reason_code
    head = reason.split(":", 1)[0].strip()
    if head in _CODES:
        return head
    if reason.strip().lower().startswith(_ROUTINE_WORDING):
        return SkipReason.ALREADY_WRITTEN.value
    return ""


def needs_attention(outcome: str, reason_code: str = "", reason: str = "") -> bool:
    """True for what an exceptions-only email carries (outcome: a SyncAction value)."""
    if outcome == "failed":
        return True
    if outcome != "skipped":
        return False  # created, updated, held (held work goes ahead once processing is on)
    # A skip nobody classified is shown rather than hidden.
    return skip_code(reason_code, reason) not in ROUTINE_SKIPS
