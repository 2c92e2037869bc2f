"""Connection health: each connection's state and its next risk, at a given moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from invoicesync.domain.connection_health import (
    ConnectionFacts,
    HealthPolicy,
    HealthState,
    RiskKind,
    Severity,
    connection_health,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
POLICY = HealthPolicy(idle_days=26, lapse_warning_days=14, hook_check_max_age=timedelta(hours=3))


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def facts(provider: str = "xero", **overrides) -> ConnectionFacts:
    values: dict = {"connected": True, "last_renewed_at": days_ago(1)}
    if provider == "keap":
        values["hooks_checked_at"] = NOW - timedelta(minutes=10)
    return ConnectionFacts(provider, **(values | overrides))


def kinds(health) -> list[RiskKind]:
    return [risk.kind for risk in health.risks]


def test_a_connection_renewed_yesterday_is_healthy_and_says_when_it_would_lapse():
    health = connection_health(facts("xero"), POLICY, NOW)

    assert health.state is HealthState.HEALTHY
    assert health.next_risk is None
    assert health.refresh_lapses_at == days_ago(1) + timedelta(days=60)


def test_a_connection_never_made_has_no_risks():
    health = connection_health(ConnectionFacts("qbo", connected=None), POLICY, NOW)

    assert health.state is HealthState.NOT_CONNECTED
    assert health.risks == ()


@pytest.mark.parametrize(
    "provider, unused_days, lapses_in_days", [("keap", 40, 5), ("xero", 50, 10)]
)
def test_a_refresh_token_left_unused_warns_before_it_lapses(provider, unused_days, lapses_in_days):
    health = connection_health(facts(provider, last_renewed_at=days_ago(unused_days)), POLICY, NOW)

    assert health.state is HealthState.AT_RISK
    assert health.next_risk.kind is RiskKind.REFRESH_TOKEN_LAPSING
    assert health.next_risk.due_at == NOW + timedelta(days=lapses_in_days)
    assert health.next_risk.notified
    assert RiskKind.REFRESH_TOKEN_IDLE in kinds(health)


def test_unused_past_the_refresher_age_is_a_risk_before_the_lapse_warning():
    health = connection_health(facts("xero", last_renewed_at=days_ago(30)), POLICY, NOW)

    assert kinds(health) == [RiskKind.REFRESH_TOKEN_IDLE]
    assert not health.next_risk.notified
    assert "30 days" in health.next_risk.message


def test_the_lapse_date_the_provider_gave_wins_over_the_documented_lifetime():
    declared = NOW + timedelta(days=3)
    health = connection_health(facts("qbo", refresh_expires_at=declared), POLICY, NOW)

    assert health.next_risk.kind is RiskKind.REFRESH_TOKEN_LAPSING
    assert health.next_risk.due_at == declared


def test_a_lapsed_refresh_token_is_an_alert():
    health = connection_health(facts("keap", last_renewed_at=days_ago(46)), POLICY, NOW)

    assert health.state is HealthState.ALERT
    assert health.next_risk.kind is RiskKind.REFRESH_TOKEN_LAPSED
    assert health.next_risk.severity is Severity.ALERT


def test_a_failing_refresh_is_a_risk_until_one_succeeds():
    failing = facts(
        "xero",
        refresh_started_at=NOW - timedelta(minutes=1),
        refresh_failed_at=NOW - timedelta(minutes=1),
        refresh_error="xero token endpoint: ReadTimeout",
    )

    health = connection_health(failing, POLICY, NOW)

    assert health.next_risk.kind is RiskKind.REFRESH_FAILING
    assert "ReadTimeout" in health.next_risk.message


def test_a_refresh_that_never_got_its_answer_is_a_risk_once_it_is_overdue():
    started = facts("keap", refresh_started_at=NOW - timedelta(seconds=30))
    overdue = facts("keap", refresh_started_at=NOW - timedelta(minutes=10))

    assert connection_health(started, POLICY, NOW).risks == ()
    assert kinds(connection_health(overdue, POLICY, NOW)) == [RiskKind.REFRESH_FAILING]


def test_a_recent_403_is_a_risk_and_an_old_one_is_not():
    recent = facts("xero", forbidden_at=NOW - timedelta(hours=2), forbidden_reason="403 to GET")
    old = facts("xero", forbidden_at=days_ago(3), forbidden_reason="403 to GET")

    assert kinds(connection_health(recent, POLICY, NOW)) == [RiskKind.PROVIDER_FORBIDDEN]
    assert connection_health(old, POLICY, NOW).risks == ()


def test_keap_hooks_unverified_or_unchecked_are_risks():
    inactive = facts("keap", hooks_unverified=("order.add", "invoice.add"))
    stale = facts("keap", hooks_checked_at=NOW - timedelta(hours=4))
    never = facts("keap", hooks_checked_at=None)

    assert kinds(connection_health(inactive, POLICY, NOW)) == [RiskKind.HOOKS_UNVERIFIED]
    assert "order.add, invoice.add" in connection_health(inactive, POLICY, NOW).risks[0].message
    assert kinds(connection_health(stale, POLICY, NOW)) == [RiskKind.HOOKS_UNCHECKED]
    assert kinds(connection_health(never, POLICY, NOW)) == [RiskKind.HOOKS_UNCHECKED]


def test_a_lost_connection_says_why_and_a_lost_refresh_answer_is_its_own_alert():
    lost = facts("xero", connected=False, disconnected_reason="refresh token rejected")
    answer_lost = facts(
        "keap", connected=False, disconnected_reason="x", alert="Keap refused ... Reconnect it"
    )

    lost_health = connection_health(lost, POLICY, NOW)
    alert_health = connection_health(answer_lost, POLICY, NOW)

    assert lost_health.state is HealthState.LOST
    assert "refresh token rejected" in lost_health.next_risk.message
    assert alert_health.next_risk.kind is RiskKind.REFRESH_ANSWER_LOST
    assert alert_health.next_risk.notified


def test_alerts_come_first_then_the_soonest_risk():
    several = facts(
        "keap",
        last_renewed_at=days_ago(40),
        forbidden_at=NOW - timedelta(hours=1),
        forbidden_reason="403 to GET",
        hooks_unverified=("order.add",),
        hooks_checked_at=days_ago(2),
    )

    health = connection_health(several, POLICY, NOW)

    assert kinds(health) == [
        RiskKind.HOOKS_UNVERIFIED,  # in effect since the check two days ago
        RiskKind.PROVIDER_FORBIDDEN,  # an hour ago
        RiskKind.REFRESH_TOKEN_LAPSING,  # in five days
        RiskKind.REFRESH_TOKEN_IDLE,
    ]
    lapsed = connection_health(facts("keap", last_renewed_at=days_ago(50)), POLICY, NOW)
    assert lapsed.next_risk.severity is Severity.ALERT
