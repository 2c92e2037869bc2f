"""Which sync results an exceptions-only email carries, and which stay in the activity log."""

from __future__ import annotations

import pytest

from invoicesync.domain.attention import NOTIFIED_SKIPS, ROUTINE_SKIPS, needs_attention
from invoicesync.domain.sync_rules import SkipReason


@pytest.mark.parametrize("code", ["overpayment", "zero_total", "already_synced"])
def test_the_seed_products_user_visible_skips_need_attention(code):
    assert needs_attention("skipped", code)


@pytest.mark.parametrize(
    "code",
    [
        "already_written",  # a re-read of an invoice or payment written before
        "reverse_sync_echo",  # ReverseSync's own payment seen again in Keap
        "unchanged",
        "already_in_destination",
        "already_in_keap",
        "payments_not_synced",
        "not_paid_yet",
    ],
)
def test_internal_bookkeeping_never_needs_attention(code):
    assert not needs_attention("skipped", code)


def test_every_failure_needs_attention_whatever_its_reason():
    assert needs_attention("failed", "", "exception: the invoice is PAID in Xero")
    assert needs_attention("failed", "already_written", "")


@pytest.mark.parametrize("outcome", ["created", "updated", "held"])
def test_work_done_or_waiting_needs_no_attention(outcome):
    assert not needs_attention(outcome, "", "processing is off")


def test_every_skip_reason_is_classified_one_way_or_the_other():
    assert frozenset(SkipReason) == NOTIFIED_SKIPS | ROUTINE_SKIPS
    assert not NOTIFIED_SKIPS & ROUTINE_SKIPS


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("overpayment: 120.00 would overpay the 100.00 due", True),
        ("reverse_sync_echo: payment 9 came from us", False),
        ("already synced", False),
        ("already synced (found by its number)", False),
        ("already recorded in Keap as payment 12", False),
        ("a reason nobody classified", True),
    ],
)
def test_results_recorded_before_reason_codes_are_classified_by_their_wording(reason, expected):
    assert needs_attention("skipped", "", reason) is expected
