"""Connection health: a connection's state and the risks ahead of it, from plain facts (pure).

The console's Connections page, the admin `/status` and the warning emails all read this. Refresh
tokens lapse unused after 45 days at Keap (shared/reference/keap.md §1), 60 at Xero (xero.md
§1) and about 100 at QBO, rolling (qbo.md §1); Keap hooks go Inactive or stay Unverified
without telling anyone (keap.md §8 gotchas 1-2).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

REFRESH_TOKEN_LIFETIMES: Mapping[str, timedelta] = {
    "keap": timedelta(days=45),
    "xero": timedelta(days=60),
    "qbo": timedelta(days=100),
}
PROVIDER_NAMES: Mapping[str, str] = {"keap": "Keap", "xero": "Xero", "qbo": "QuickBooks Online"}
# A refresh call still marked as started after this long never got its answer.
UNANSWERED_REFRESH = timedelta(minutes=5)


class HealthState(enum.StrEnum):
    NOT_CONNECTED = "not_connected"
    HEALTHY = "healthy"
    AT_RISK = "at_risk"  # working, with a risk a person may want to act on
    ALERT = "alert"  # needs a person now
    LOST = "lost"


class RiskKind(enum.StrEnum):
    LOST = "lost"
    REFRESH_ANSWER_LOST = "refresh_answer_lost"
    REFRESH_TOKEN_LAPSED = "refresh_token_lapsed"
    REFRESH_FAILING = "refresh_failing"
    PROVIDER_FORBIDDEN = "provider_forbidden"
    REFRESH_TOKEN_LAPSING = "refresh_token_lapsing"
    REFRESH_TOKEN_IDLE = "refresh_token_idle"
    HOOKS_UNVERIFIED = "hooks_unverified"
    HOOKS_UNCHECKED = "hooks_unchecked"


class Severity(enum.StrEnum):
    ALERT = "alert"
    WARNING = "warning"


# The risks worth an email of their own (the rest show on the page and in /status).
NOTIFIED_RISKS = frozenset(
    {RiskKind.REFRESH_ANSWER_LOST, RiskKind.REFRESH_TOKEN_LAPSING, RiskKind.REFRESH_TOKEN_LAPSED}
)


@dataclass(frozen=True)
class ConnectionFacts:
    """What is known about one connection; `connected` None means it was never made."""

    provider: str
    connected: bool | None
    disconnected_reason: str = ""
    alert: str = ""
    last_renewed_at: datetime | None = None
    refresh_expires_at: datetime | None = None  # as the provider declared it, if it did
    refresh_started_at: datetime | None = None
    refresh_failed_at: datetime | None = None
    refresh_error: str = ""
    forbidden_at: datetime | None = None
    forbidden_reason: str = ""
    hooks_checked_at: datetime | None = None  # Keap only
    hooks_unverified: tuple[str, ...] = ()


@dataclass(frozen=True)
class HealthPolicy:
    idle_days: int = 25  # the idle refresher renews anything older; older still is a risk
    lapse_warning_days: int = 14
    hook_check_max_age: timedelta = timedelta(hours=3)
    forbidden_recent: timedelta = timedelta(days=1)
    lifetimes: Mapping[str, timedelta] = field(default_factory=lambda: REFRESH_TOKEN_LIFETIMES)


@dataclass(frozen=True)
class ConnectionRisk:
    kind: RiskKind
    severity: Severity
    message: str
    due_at: datetime | None = None  # when it bites, if known

    @property
    def notified(self) -> bool:
        return self.kind in NOTIFIED_RISKS


@dataclass(frozen=True)
class ConnectionHealth:
    provider: str
    state: HealthState
    risks: tuple[ConnectionRisk, ...] = ()
    refresh_lapses_at: datetime | None = None

    @property
    def next_risk(self) -> ConnectionRisk | None:
        return self.risks[0] if self.risks else None


def connection_health(
    facts: ConnectionFacts, policy: HealthPolicy, now: datetime
) -> ConnectionHealth:
    """The connection's state and its risks, most urgent first (alerts, then soonest due)."""
    if facts.connected is None:
        return ConnectionHealth(facts.provider, HealthState.NOT_CONNECTED)
    name = PROVIDER_NAMES.get(facts.provider, facts.provider)
    if not facts.connected:
        return ConnectionHealth(facts.provider, HealthState.LOST, (_lost(facts, name),))
    lapses_at = refresh_lapses_at(facts, policy)
    risks = [
        risk
        for risk in (
            _lapse_risk(name, lapses_at, policy, now),
            _refresh_failing(facts, name, lapses_at, now),
            _forbidden(facts, name, policy, now),
            _idle(facts, name, lapses_at, policy, now),
            *_hook_risks(facts, policy, now),
        )
        if risk is not None
    ]
    risks.sort(key=lambda risk: _urgency(risk, now))
    if any(risk.severity is Severity.ALERT for risk in risks):
        state = HealthState.ALERT
    else:
        state = HealthState.AT_RISK if risks else HealthState.HEALTHY
    return ConnectionHealth(facts.provider, state, tuple(risks), lapses_at)


def _urgency(risk: ConnectionRisk, now: datetime) -> tuple[bool, datetime]:
    return risk.severity is not Severity.ALERT, risk.due_at or now + timedelta(days=36500)


def refresh_lapses_at(facts: ConnectionFacts, policy: HealthPolicy) -> datetime | None:
    """When the refresh token lapses if nothing refreshes it: the provider's own figure (QBO
    sends one), else the provider's documented lifetime counted from the last renewal."""
    if facts.refresh_expires_at is not None:
        return facts.refresh_expires_at
    lifetime = policy.lifetimes.get(facts.provider)
    if lifetime is None or facts.last_renewed_at is None:
        return None
    return facts.last_renewed_at + lifetime


def _lost(facts: ConnectionFacts, name: str) -> ConnectionRisk:
    if facts.alert:
        return ConnectionRisk(RiskKind.REFRESH_ANSWER_LOST, Severity.ALERT, facts.alert)
    reason = facts.disconnected_reason or "the provider no longer accepts our access"
    return ConnectionRisk(
        RiskKind.LOST,
        Severity.ALERT,
        f"The {name} connection was lost ({reason}). Reconnect to resume syncing.",
    )


def _lapse_risk(
    name: str, lapses_at: datetime | None, policy: HealthPolicy, now: datetime
) -> ConnectionRisk | None:
    if lapses_at is None:
        return None
    if lapses_at <= now:
        return ConnectionRisk(
            RiskKind.REFRESH_TOKEN_LAPSED,
            Severity.ALERT,
            f"The {name} refresh token lapsed on {lapses_at:%d %B %Y}. Reconnect {name}.",
            lapses_at,
        )
    if lapses_at - now <= timedelta(days=policy.lapse_warning_days):
        return ConnectionRisk(
            RiskKind.REFRESH_TOKEN_LAPSING,
            Severity.WARNING,
            f"The {name} connection lapses on {lapses_at:%d %B %Y} unless it is refreshed "
            f"before then. Reconnect {name} if this warning stays.",
            lapses_at,
        )
    return None


def _refresh_failing(
    facts: ConnectionFacts, name: str, lapses_at: datetime | None, now: datetime
) -> ConnectionRisk | None:
    if facts.refresh_failed_at is not None:
        since = facts.refresh_failed_at
        detail = f"the last try failed at {since:%d %B %Y %H:%M} UTC: {facts.refresh_error}"
    elif (
        facts.refresh_started_at is not None
        and now - facts.refresh_started_at >= UNANSWERED_REFRESH
    ):
        since = facts.refresh_started_at
        detail = f"a refresh started at {since:%d %B %Y %H:%M} UTC never got its answer"
    else:
        return None
    return ConnectionRisk(
        RiskKind.REFRESH_FAILING,
        Severity.WARNING,
        f"Refreshing the {name} tokens is failing ({detail}); it is retried automatically.",
        lapses_at,
    )


def _forbidden(
    facts: ConnectionFacts, name: str, policy: HealthPolicy, now: datetime
) -> ConnectionRisk | None:
    if facts.forbidden_at is None or now - facts.forbidden_at > policy.forbidden_recent:
        return None
    return ConnectionRisk(
        RiskKind.PROVIDER_FORBIDDEN,
        Severity.WARNING,
        f"{name} refused a request as forbidden (403) at {facts.forbidden_at:%d %B %Y %H:%M} "
        f"UTC ({facts.forbidden_reason}): the connection may lack a permission.",
        facts.forbidden_at,
    )


def _idle(
    facts: ConnectionFacts,
    name: str,
    lapses_at: datetime | None,
    policy: HealthPolicy,
    now: datetime,
) -> ConnectionRisk | None:
    if facts.last_renewed_at is None:
        return None
    unused = now - facts.last_renewed_at
    if unused < timedelta(days=policy.idle_days):
        return None
    until = f"; it lapses on {lapses_at:%d %B %Y}" if lapses_at else ""
    return ConnectionRisk(
        RiskKind.REFRESH_TOKEN_IDLE,
        Severity.WARNING,
        f"The {name} refresh token has not been renewed for {unused.days} days{until}.",
        lapses_at,
    )


def _hook_risks(
    facts: ConnectionFacts, policy: HealthPolicy, now: datetime
) -> list[ConnectionRisk | None]:
    if facts.provider != "keap":
        return []
    if facts.hooks_unverified:
        keys = ", ".join(facts.hooks_unverified)
        return [
            ConnectionRisk(
                RiskKind.HOOKS_UNVERIFIED,
                Severity.WARNING,
                f"Keap's hook subscriptions for {keys} are not active: changes arrive only "
                "through the hourly poll until they are.",
                facts.hooks_checked_at,
            )
        ]
    if facts.hooks_checked_at is None or now - facts.hooks_checked_at > policy.hook_check_max_age:
        return [
            ConnectionRisk(
                RiskKind.HOOKS_UNCHECKED,
                Severity.WARNING,
                "Keap's hook subscriptions have not been checked recently.",
                facts.hooks_checked_at,
            )
        ]
    return []
